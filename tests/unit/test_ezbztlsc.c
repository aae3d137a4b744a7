/* include/ezbztlsc.h: the ABI of spec 0.1. Sizes and offsets of every field
 * (as the header's comments give them), the command code, every constant. A
 * change to any of them breaks programs built against the header. */
#include <stddef.h>
#include <string.h>

#include <ezbztlsc.h>

#include "tests/unit/support.h"

#define FIELD(type, field, off, size)                                    \
	do {                                                              \
		ck_assert_uint_eq(offsetof(struct type, field), (off));   \
		ck_assert_uint_eq(sizeof(((struct type *)0)->field), (size)); \
	} while (0)

START_TEST(ttls_ioctl_layout)
{
	ck_assert_uint_eq(sizeof(struct TTLS_IOCTL), 56);
	FIELD(TTLS_IOCTL, TTLSi_Ver, 0, 2);
	FIELD(TTLS_IOCTL, TTLSi_Req_Type, 2, 2);
	FIELD(TTLS_IOCTL, TTLSi_Stat_Policy, 4, 1);
	FIELD(TTLS_IOCTL, TTLSi_Stat_Conn, 5, 1);
	FIELD(TTLS_IOCTL, TTLSi_SSL_Protocol, 6, 2);
	FIELD(TTLS_IOCTL, TTLSi_SSL_Protocol.TTLSi_SSL_Prot, 6, 2);
	FIELD(TTLS_IOCTL, TTLSi_SSL_Protocol.Prot_bytes.Prot_Ver, 6, 1);
	FIELD(TTLS_IOCTL, TTLSi_SSL_Protocol.Prot_bytes.Prot_Mod, 7, 1);
	FIELD(TTLS_IOCTL, TTLSi_Neg_Cipher, 8, 2);
	FIELD(TTLS_IOCTL, TTLSi_Sec_Type, 10, 1);
	FIELD(TTLS_IOCTL, TTLSi_UserID_Len, 11, 1);
	FIELD(TTLS_IOCTL, TTLSi_UserID, 12, 9);
	FIELD(TTLS_IOCTL, TTLSi_FIPS140, 21, 1);
	FIELD(TTLS_IOCTL, TTLSi_Flags, 22, 1);
	FIELD(TTLS_IOCTL, TTLSi_Rsvd1, 23, 1);
	FIELD(TTLS_IOCTL, TTLSi_Neg_Cipher4, 24, 4);
	FIELD(TTLS_IOCTL, TTLSi_Neg_KeyShare, 28, 4);
	FIELD(TTLS_IOCTL, TTLSi_BufferPtr, 32, 8);
	FIELD(TTLS_IOCTL, TTLSi_BufferLen, 40, 4);
	FIELD(TTLS_IOCTL, TTLSi_Cert_Len, 44, 4);
	FIELD(TTLS_IOCTL, TTLSi_Rsvd2, 48, 8);
}
END_TEST

START_TEST(ttls_header_and_quadruplet_layout)
{
	ck_assert_uint_eq(sizeof(struct TTLSHeader), 44);
	FIELD(TTLSHeader, TTLSHdr_Ident, 0, 8);
	FIELD(TTLSHeader, TTLSHdr_Rsvd1, 8, 8);
	FIELD(TTLSHeader, TTLSHdr_BytesNeeded, 16, 4);
	FIELD(TTLSHeader, TTLSHdr_SetCount, 20, 4);
	FIELD(TTLSHeader, TTLSHdr_GetCount, 24, 4);
	FIELD(TTLSHeader, TTLSHdr_Rsvd2, 28, 16);
	ck_assert_uint_eq(sizeof(struct TTLSQuadruplet), 16);
	FIELD(TTLSQuadruplet, TTLSQ_Key, 0, 4);
	FIELD(TTLSQuadruplet, TTLSQ_Offset, 4, 4);
	FIELD(TTLSQuadruplet, TTLSQ_Length, 8, 4);
	FIELD(TTLSQuadruplet, TTLSQ_Rcode, 12, 4);
	/* Quadruplets follow the header with no padding. */
	ck_assert_uint_eq(sizeof(struct TTLSHeader) % _Alignof(struct TTLSQuadruplet), 0);
	ck_assert_uint_eq(strlen(TTLSHDR_IDENT), 8);
	ck_assert_str_eq(TTLSHDR_IDENT, "TTLSHDR ");
}
END_TEST

START_TEST(the_command_code)
{
	ck_assert_uint_eq(SIOCTTLSCTL, 0xC038D90Bu);
	ck_assert_uint_eq(_IOC_DIR(SIOCTTLSCTL), _IOC_READ | _IOC_WRITE);
	ck_assert_uint_eq(_IOC_TYPE(SIOCTTLSCTL), 0xD9);
	ck_assert_uint_eq(_IOC_NR(SIOCTTLSCTL), 11);
	ck_assert_uint_eq(_IOC_SIZE(SIOCTTLSCTL), sizeof(struct TTLS_IOCTL));
}
END_TEST

START_TEST(requests_versions_and_outputs)
{
	ck_assert_int_eq(TTLS_VERSION1, 1);
	ck_assert_int_eq(TTLS_VERSION2, 2);
	ck_assert_int_eq(TTLS_QUERY_ONLY, 0x00);
	ck_assert_int_eq(TTLS_INIT_CONNECTION, 0x01);
	ck_assert_int_eq(TTLS_RESET_SESSION, 0x02);
	ck_assert_int_eq(TTLS_RESET_CIPHER, 0x04);
	ck_assert_int_eq(TTLS_STOP_CONNECTION, 0x08);
	ck_assert_int_eq(TTLS_ALLOW_HSTIMEOUT, 0x10);
	ck_assert_int_eq(TTLS_RETURN_CERTIFICATE, 0x20);
	ck_assert_int_eq(TTLS_RESET_WRITE_CIPHER, 0x40);
	ck_assert_int_eq(TTLS_SEND_SESSION_TICKET, 0x80);

	ck_assert_int_eq(TTLS_POL_OFF, 1);
	ck_assert_int_eq(TTLS_POL_NO_POLICY, 2);
	ck_assert_int_eq(TTLS_POL_NOT_ENABLED, 3);
	ck_assert_int_eq(TTLS_POL_ENABLED, 4);
	ck_assert_int_eq(TTLS_POL_APPLCNTRL, 5);

	ck_assert_int_eq(TTLS_CONN_NOTSECURE, 1);
	ck_assert_int_eq(TTLS_CONN_HS_INPROGRESS, 2);
	ck_assert_int_eq(TTLS_CONN_SECURE, 3);

	ck_assert_int_eq(TTLS_SEC_UNKNOWN, 0);
	ck_assert_int_eq(TTLS_SEC_CLIENT, 1);
	ck_assert_int_eq(TTLS_SEC_SERVER, 2);
	ck_assert_int_eq(TTLS_SEC_SRV_CA_PASS, 3);
	ck_assert_int_eq(TTLS_SEC_SRV_CA_FULL, 4);
	ck_assert_int_eq(TTLS_SEC_SRV_CA_REQD, 5);
	ck_assert_int_eq(TTLS_SEC_SRV_CA_SAFCHK, 6);

	ck_assert_int_eq(TTLS_PROT_UNKNOWN, 0x0000);
	ck_assert_int_eq(TTLS_PROT_SSLV2, 0x0200);
	ck_assert_int_eq(TTLS_PROT_SSLV3, 0x0300);
	ck_assert_int_eq(TTLS_PROT_TLSV1, 0x0301);
	ck_assert_int_eq(TTLS_PROT_TLSV1_1, 0x0302);
	ck_assert_int_eq(TTLS_PROT_TLSV1_2, 0x0303);
	ck_assert_int_eq(TTLS_PROT_TLSV1_3, 0x0304);

	ck_assert_int_eq(TTLS_FIPS140_OFF, 0);
	ck_assert_int_eq(TTLS_FIPS140_ON, 1);
	ck_assert_int_eq(TTLS_FIPS140_LEVEL1, 2);
	ck_assert_int_eq(TTLS_FIPS140_LEVEL2, 3);
	ck_assert_int_eq(TTLS_FIPS140_LEVEL3, 4);

	ck_assert_int_eq(TTLS_FTPDATACONN, 0x01);
}
END_TEST

START_TEST(keys_rcodes_and_reason_codes)
{
	ck_assert_int_eq(TTLSK_TTLSRuleName, 1);
	ck_assert_int_eq(TTLSK_TTLSGroupActionName, 2);
	ck_assert_int_eq(TTLSK_TTLSEnvironmentActionName, 3);
	ck_assert_int_eq(TTLSK_TTLSConnectionActionName, 4);
	ck_assert_int_eq(TTLSK_Certificate, 5);
	ck_assert_int_eq(TTLSK_Host_Status, 6);
	/* The 2008 spellings are the same keys. */
	ck_assert_int_eq(TTLSK_TTLRule_Name, TTLSK_TTLSRuleName);
	ck_assert_int_eq(TTLSK_TTLGroupAction_Name, TTLSK_TTLSGroupActionName);
	ck_assert_int_eq(TTLSK_TTLSEnvironmentAction_Name, TTLSK_TTLSEnvironmentActionName);
	ck_assert_int_eq(TTLSK_TTLConnectionAction_Name, TTLSK_TTLSConnectionActionName);

	ck_assert_int_eq(TTLSQ_RC_OK, 0);
	ck_assert_int_eq(TTLSQ_RC_NOT_AVAILABLE, 1);
	ck_assert_int_eq(TTLSQ_RC_HOST_MISMATCH, 2);
	ck_assert_int_eq(TTLSQ_RC_BUFFER_TOO_SMALL, 3);
	ck_assert_int_eq(TTLSQ_RC_UNKNOWN_KEY, 4);
	ck_assert_int_eq(TTLS_NAME_MAX, 48);

	/* Project-chosen values (spec 0.1): fixed once programs use them, and
	 * all different. */
	const unsigned jr[] = { JrOK, JrConnDeniedPolicy, JrAlreadyActive, JrTTLSHandshakeFailed,
				JrInvalidVersion, JrSocketCallParmError, JrBuffTooSmall,
				JrTTLSStopReadDataPending, JrTTLSStopWriteDataPending,
				JrUnexpectedErr };
	const unsigned want[] = { 0x0000, 0x7101, 0x7102, 0x7103, 0x7104, 0x7105, 0x7106,
				  0x7107, 0x7108, 0x7109 };
	for (size_t i = 0; i < sizeof jr / sizeof jr[0]; i++)
		ck_assert_uint_eq(jr[i], want[i]);
}
END_TEST

START_TEST(protocol_macro_reads_the_two_bytes)
{
	struct TTLS_IOCTL ioc;
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_SSL_Protocol.Prot_bytes.Prot_Ver = 3;
	ioc.TTLSi_SSL_Protocol.Prot_bytes.Prot_Mod = 4;
	ck_assert_uint_eq(TTLS_SSL_PROT(&ioc), TTLS_PROT_TLSV1_3);
	ioc.TTLSi_SSL_Protocol.Prot_bytes.Prot_Mod = 3;
	ck_assert_uint_eq(TTLS_SSL_PROT(&ioc), TTLS_PROT_TLSV1_2);
}
END_TEST

START_TEST(errno2_is_absent_without_the_shim)
{
	/* A unit test binary does not link libattls.so: the weak symbol is NULL. */
	ck_assert_ptr_null((void *)__errno2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ezbztlsc");
	TCase *tc = tcase_create("abi");
	tcase_add_test(tc, ttls_ioctl_layout);
	tcase_add_test(tc, ttls_header_and_quadruplet_layout);
	tcase_add_test(tc, the_command_code);
	tcase_add_test(tc, requests_versions_and_outputs);
	tcase_add_test(tc, keys_rcodes_and_reason_codes);
	tcase_add_test(tc, protocol_macro_reads_the_two_bytes);
	tcase_add_test(tc, errno2_is_absent_without_the_shim);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
