"""The structures of include/ezbztlsc.h as bytes: struct TTLS_IOCTL (56
bytes), and for version 2 the TTLSHeader (44 bytes) followed by
TTLSQuadruplet entries (16 bytes each) and their data.

Each layout is a list of (C field name, struct format) in declaration
order, packed with native byte order and no padding: the header spells out
every byte (reserved fields included), so the offsets here are the C
compiler's. The integration tests compile a program against the header and
compare each field's offset and size with these lists.
"""
import ctypes
import struct
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from ._constants import TTLS_VERSION2, TTLSHDR_IDENT

Layout = List[Tuple[str, str]]

TTLS_IOCTL: Layout = [
    ("TTLSi_Ver", "H"),
    ("TTLSi_Req_Type", "H"),
    ("TTLSi_Stat_Policy", "B"),
    ("TTLSi_Stat_Conn", "B"),
    ("TTLSi_SSL_Protocol.Prot_bytes.Prot_Ver", "B"),
    ("TTLSi_SSL_Protocol.Prot_bytes.Prot_Mod", "B"),
    ("TTLSi_Neg_Cipher", "2s"),
    ("TTLSi_Sec_Type", "B"),
    ("TTLSi_UserID_Len", "B"),
    ("TTLSi_UserID", "9s"),
    ("TTLSi_FIPS140", "B"),
    ("TTLSi_Flags", "B"),
    ("TTLSi_Rsvd1", "B"),
    ("TTLSi_Neg_Cipher4", "4s"),
    ("TTLSi_Neg_KeyShare", "4s"),
    ("TTLSi_BufferPtr", "Q"),
    ("TTLSi_BufferLen", "I"),
    ("TTLSi_Cert_Len", "I"),
    ("TTLSi_Rsvd2", "8s"),
]

TTLS_HEADER: Layout = [
    ("TTLSHdr_Ident", "8s"),
    ("TTLSHdr_Rsvd1", "8s"),
    ("TTLSHdr_BytesNeeded", "I"),
    ("TTLSHdr_SetCount", "I"),
    ("TTLSHdr_GetCount", "I"),
    ("TTLSHdr_Rsvd2", "16s"),
]

TTLS_QUADRUPLET: Layout = [
    ("TTLSQ_Key", "I"),
    ("TTLSQ_Offset", "I"),
    ("TTLSQ_Length", "I"),
    ("TTLSQ_Rcode", "I"),
]


def layout_struct(layout: Layout) -> struct.Struct:
    """A Struct for a layout: native byte order, standard sizes, no padding."""
    return struct.Struct("=" + "".join(fmt for _, fmt in layout))


_IOC = layout_struct(TTLS_IOCTL)
_HDR = layout_struct(TTLS_HEADER)
_QUAD = layout_struct(TTLS_QUADRUPLET)
IOCTL_SIZE = _IOC.size
HEADER_SIZE = _HDR.size
QUAD_SIZE = _QUAD.size
assert (IOCTL_SIZE, HEADER_SIZE, QUAD_SIZE) == (56, 44, 16)
# TTLSi_BufferPtr is a C pointer: the layout is that of 64-bit Linux.
assert ctypes.sizeof(ctypes.c_void_p) == 8, "attls needs a 64-bit Python"


@dataclass(frozen=True)
class Answer:
    """The output fields of a TTLS_IOCTL, as the call left them."""
    stat_policy: int
    stat_conn: int
    protocol: int
    neg_cipher: bytes
    sec_type: int
    user_id: bytes
    fips140: int
    neg_cipher4: bytes
    neg_keyshare: bytes
    cert_len: int


def pack_ioctl(version: int, request: int, buffer_ptr: int = 0, buffer_len: int = 0) -> bytearray:
    """A TTLS_IOCTL for a call: every field zero but these (as z/OS wants)."""
    return bytearray(_IOC.pack(version, request, 0, 0, 0, 0, b"", 0, 0, b"", 0, 0, 0, b"", b"",
                               buffer_ptr, buffer_len, 0, b""))


def unpack_ioctl(raw: bytes) -> Answer:
    (_ver, _req, pol, conn, pver, pmod, cipher, sec, uid_len, uid, fips, _flags, _rsvd1,
     cipher4, keyshare, _ptr, _blen, cert_len, _rsvd2) = _IOC.unpack(raw)
    return Answer(stat_policy=pol, stat_conn=conn, protocol=(pver << 8) | pmod,
                  neg_cipher=cipher, sec_type=sec, user_id=uid[:min(uid_len, len(uid))],
                  fips140=fips, neg_cipher4=cipher4, neg_keyshare=keyshare, cert_len=cert_len)


@dataclass(frozen=True)
class Get:
    """One Get quadruplet to send: a key, the room for its answer, and for
    keys that take input (TTLSK_Host_Status) the bytes put in that room."""
    key: int
    room: int
    data: bytes = b""


@dataclass(frozen=True)
class Got:
    """One Get quadruplet as the call left it."""
    key: int
    rcode: int
    length: int      # returned, or needed when rcode says the room was too small
    data: bytes      # the returned bytes (length of them), b"" when none


class V2Buffer:
    """A version 2 buffer (TTLSHeader, Get quadruplets, their data areas) in
    memory that stays put while the ioctl writes into it."""

    def __init__(self, gets: Sequence[Get]):
        self.gets = list(gets)
        fixed = HEADER_SIZE + QUAD_SIZE * len(self.gets)
        self.size = fixed + sum(g.room for g in self.gets)
        self.mem = ctypes.create_string_buffer(self.size)
        _HDR.pack_into(self.mem, 0, TTLSHDR_IDENT, b"", 0, 0, len(self.gets), b"")
        off = fixed
        for i, g in enumerate(self.gets):
            _QUAD.pack_into(self.mem, HEADER_SIZE + i * QUAD_SIZE, g.key, off, g.room, 0)
            self.mem[off:off + len(g.data)] = g.data
            off += g.room

    @property
    def address(self) -> int:
        return ctypes.addressof(self.mem)

    def ioctl(self, request: int) -> bytearray:
        """The TTLS_IOCTL that hands this buffer to a version 2 call."""
        return pack_ioctl(TTLS_VERSION2, request, self.address, self.size)

    def bytes_needed(self) -> int:
        return _HDR.unpack_from(self.mem, 0)[2]

    def results(self) -> List[Got]:
        out = []
        raw = self.mem.raw
        for i in range(len(self.gets)):
            key, off, length, rcode = _QUAD.unpack_from(raw, HEADER_SIZE + i * QUAD_SIZE)
            room = self.gets[i].room
            data = raw[off:off + length] if length <= room and off + length <= self.size else b""
            out.append(Got(key=key, rcode=rcode, length=length, data=data))
        return out
