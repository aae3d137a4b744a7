/*
 * iked/isakmp — the numbers of the IKEv1 protocol: ISAKMP header and payload
 * types (RFC 2408), the IPsec DOI (RFC 2407), IKE attribute classes and values
 * (RFC 2409), NAT-T (RFC 3947) and DPD (RFC 3706). Constants only;
 * no code depends on anything but this file for wire values.
 */
#ifndef ATTLS_IKED_ISAKMP_H
#define ATTLS_IKED_ISAKMP_H

#define ISAKMP_HDR_LEN        28
#define ISAKMP_GEN_LEN        4
#define ISAKMP_COOKIE_LEN     8
#define ISAKMP_VERSION        0x10   /* major 1, minor 0 */
#define ISAKMP_MAX_MSG        65535
#define NON_ESP_MARKER_LEN    4      /* four zero bytes before IKE on port 4500 */
#define NATT_KEEPALIVE_BYTE   0xff

/* Header flags */
#define ISAKMP_FLAG_ENC       0x01
#define ISAKMP_FLAG_COMMIT    0x02
#define ISAKMP_FLAG_AUTHONLY  0x04

/* Exchange types */
#define EXCH_BASE             1
#define EXCH_MAIN             2      /* Identity Protection */
#define EXCH_AUTH_ONLY        3
#define EXCH_AGGRESSIVE       4
#define EXCH_INFO             5
#define EXCH_QUICK            32
#define EXCH_NEW_GROUP        33

/* Payload types */
#define PL_NONE               0
#define PL_SA                 1
#define PL_P                  2
#define PL_T                  3
#define PL_KE                 4
#define PL_ID                 5
#define PL_CERT               6
#define PL_CR                 7
#define PL_HASH               8
#define PL_SIG                9
#define PL_NONCE              10
#define PL_N                  11
#define PL_D                  12
#define PL_VID                13
#define PL_NAT_D              20     /* RFC 3947 */
#define PL_NAT_OA             21
#define PL_NAT_D_DRAFT        130    /* draft-ietf-ipsec-nat-t-ike-02/03 */
#define PL_NAT_OA_DRAFT       131
#define PL_FRAG               132    /* Cisco-style IKE fragmentation: refused */

/* DOI and situation */
#define DOI_IPSEC             1
#define SIT_IDENTITY_ONLY     1

/* Protocol IDs */
#define PROTO_ISAKMP          1
#define PROTO_IPSEC_AH        2
#define PROTO_IPSEC_ESP       3
#define PROTO_IPCOMP          4

/* Transform IDs */
#define KEY_IKE               1
#define ESP_AES_CBC           12
#define ESP_AES_GCM_8         18
#define ESP_AES_GCM_12        19
#define ESP_AES_GCM_16        20

/* Phase 1 attribute classes (RFC 2409) */
#define P1A_ENC               1
#define P1A_HASH              2
#define P1A_AUTH              3
#define P1A_GROUP_DESC        4
#define P1A_GROUP_TYPE        5
#define P1A_LIFE_TYPE         11
#define P1A_LIFE_DURATION     12
#define P1A_PRF               13
#define P1A_KEY_LENGTH        14

#define P1_ENC_DES            1
#define P1_ENC_3DES           5
#define P1_ENC_AES_CBC        7
#define P1_HASH_MD5           1
#define P1_HASH_SHA1          2
#define P1_HASH_SHA2_256      4
#define P1_HASH_SHA2_384      5
#define P1_HASH_SHA2_512      6
#define P1_AUTH_PSK           1
#define P1_AUTH_DSS           2
#define P1_AUTH_RSA_SIG       3
#define P1_AUTH_XAUTH_INIT_PSK 65001  /* seen from XAUTH peers; refused */

#define LIFE_SECONDS          1
#define LIFE_KILOBYTES        2

/* Phase 2 (IPsec DOI) attribute classes (RFC 2407) */
#define P2A_LIFE_TYPE         1
#define P2A_LIFE_DURATION     2
#define P2A_GROUP_DESC        3
#define P2A_ENCAP             4
#define P2A_AUTH              5
#define P2A_KEY_LENGTH        6
#define P2A_KEY_ROUNDS        7
#define P2A_COMP_DICT         8
#define P2A_COMP_ALG          9
#define P2A_ECN_TUNNEL        10
#define P2A_ESN               11

#define ENCAP_MODE_TUNNEL            1
#define ENCAP_MODE_TRANSPORT         2
#define ENCAP_MODE_UDP_TUNNEL        3      /* RFC 3947 */
#define ENCAP_MODE_UDP_TRANSPORT     4
#define ENCAP_MODE_UDP_TUNNEL_DRAFT  61443  /* draft-ietf-ipsec-nat-t-ike */
#define ENCAP_MODE_UDP_TRANSPORT_DRAFT 61444

#define P2_AUTH_HMAC_MD5      1
#define P2_AUTH_HMAC_SHA1     2
#define P2_AUTH_HMAC_SHA2_256 5
#define P2_AUTH_HMAC_SHA2_384 6
#define P2_AUTH_HMAC_SHA2_512 7

/* Attribute format bit: TV (fixed 2-byte value) when set, TLV otherwise */
#define ATTR_AF               0x8000

/* Identification types (RFC 2407) */
#define IPSEC_ID_IPV4_ADDR         1
#define IPSEC_ID_FQDN              2
#define IPSEC_ID_USER_FQDN         3
#define IPSEC_ID_IPV4_ADDR_SUBNET  4
#define IPSEC_ID_IPV6_ADDR         5
#define IPSEC_ID_IPV6_ADDR_SUBNET  6
#define IPSEC_ID_IPV4_ADDR_RANGE   7
#define IPSEC_ID_IPV6_ADDR_RANGE   8
#define IPSEC_ID_DER_ASN1_DN       9
#define IPSEC_ID_DER_ASN1_GN       10
#define IPSEC_ID_KEY_ID            11

/* Certificate encodings */
#define CERT_X509_SIG         4

/* Notify message types (RFC 2408, RFC 2407, RFC 3706) */
#define N_INVALID_PAYLOAD_TYPE      1
#define N_DOI_NOT_SUPPORTED         2
#define N_SITUATION_NOT_SUPPORTED   3
#define N_INVALID_COOKIE            4
#define N_INVALID_MAJOR_VERSION     5
#define N_INVALID_MINOR_VERSION     6
#define N_INVALID_EXCHANGE_TYPE     7
#define N_INVALID_FLAGS             8
#define N_INVALID_MESSAGE_ID        9
#define N_INVALID_PROTOCOL_ID       10
#define N_INVALID_SPI               11
#define N_INVALID_TRANSFORM_ID      12
#define N_ATTRIBUTES_NOT_SUPPORTED  13
#define N_NO_PROPOSAL_CHOSEN        14
#define N_BAD_PROPOSAL_SYNTAX       15
#define N_PAYLOAD_MALFORMED         16
#define N_INVALID_KEY_INFORMATION   17
#define N_INVALID_ID_INFORMATION    18
#define N_INVALID_CERT_ENCODING     19
#define N_INVALID_CERTIFICATE       20
#define N_CERT_TYPE_UNSUPPORTED     21
#define N_INVALID_CERT_AUTHORITY    22
#define N_INVALID_HASH_INFORMATION  23
#define N_AUTHENTICATION_FAILED     24
#define N_INVALID_SIGNATURE         25
#define N_ADDRESS_NOTIFICATION      26
#define N_NOTIFY_SA_LIFETIME        27
#define N_CERTIFICATE_UNAVAILABLE   28
#define N_UNSUPPORTED_EXCHANGE_TYPE 29
#define N_UNEQUAL_PAYLOAD_LENGTHS   30
#define N_RESPONDER_LIFETIME        24576
#define N_REPLAY_STATUS             24577
#define N_INITIAL_CONTACT           24578
#define N_DPD_R_U_THERE             36136
#define N_DPD_R_U_THERE_ACK         36137

/* Sizes the protocol allows */
#define NONCE_MIN             8
#define NONCE_MAX             256
#define NONCE_LEN             32      /* what iked sends */

#endif
