"""ISO 7816-4 command and response APDUs (short form) and the status words this card uses."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ledger.binary import FormatError

MAX_SHORT_DATA = 255
MAX_SHORT_RESPONSE = 256


class SW(enum.IntEnum):
    """Status words. 63Cx (wrong PIN, x tries left) is built by :func:`wrong_pin`."""

    OK = 0x9000
    CARD_BLOCKED = 0x6283
    CARD_TERMINATED = 0x6285
    WRONG_LENGTH = 0x6700
    PIN_REQUIRED = 0x6982
    PIN_BLOCKED = 0x6983
    CONDITIONS_NOT_SATISFIED = 0x6985
    WRONG_DATA = 0x6A80
    APPLICATION_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    NO_FREE_PURSE = 0x6A84
    WRONG_P1P2 = 0x6A86
    WRONG_CARD = 0x6A88
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    INTERNAL_ERROR = 0x6F00
    BAD_SIGNATURE = 0x9302
    INSUFFICIENT_BALANCE = 0x9401
    BALANCE_LIMIT = 0x9402
    PURSE_EXPIRED = 0x9403
    PURSE_NOT_FOUND = 0x9404
    OUT_OF_LOG = 0x9405
    REPLAYED_AUTHORIZATION = 0x9406
    BEFORE_TRUSTED_DATE = 0x9407
    ORDER_EXPIRED = 0x9408


WRONG_PIN_BASE = 0x63C0


def wrong_pin(tries_left: int) -> int:
    return WRONG_PIN_BASE | (tries_left & 0x0F)


def is_wrong_pin(sw: int) -> bool:
    return sw & 0xFFF0 == WRONG_PIN_BASE


SW_MEANING: dict[int, str] = {
    SW.OK: "ok",
    SW.CARD_BLOCKED: "card blocked",
    SW.CARD_TERMINATED: "card terminated",
    SW.WRONG_LENGTH: "wrong length",
    SW.PIN_REQUIRED: "PIN not verified",
    SW.PIN_BLOCKED: "PIN blocked",
    SW.CONDITIONS_NOT_SATISFIED: "conditions of use not satisfied",
    SW.WRONG_DATA: "incorrect data",
    SW.APPLICATION_NOT_FOUND: "application not found",
    SW.RECORD_NOT_FOUND: "record not found",
    SW.NO_FREE_PURSE: "no free purse slot",
    SW.WRONG_P1P2: "incorrect P1-P2",
    SW.WRONG_CARD: "authorization is for another card",
    SW.INS_NOT_SUPPORTED: "instruction not supported",
    SW.CLA_NOT_SUPPORTED: "class not supported",
    SW.INTERNAL_ERROR: "internal card error",
    SW.BAD_SIGNATURE: "bad signature",
    SW.INSUFFICIENT_BALANCE: "insufficient balance",
    SW.BALANCE_LIMIT: "balance limit exceeded",
    SW.PURSE_EXPIRED: "purse expired",
    SW.PURSE_NOT_FOUND: "purse not found",
    SW.OUT_OF_LOG: "the card's log no longer holds that transaction",
    SW.REPLAYED_AUTHORIZATION: "authorization already used",
    SW.BEFORE_TRUSTED_DATE: "time before the latest date the card has seen from the issuer",
    SW.ORDER_EXPIRED: "issuer order no longer valid",
}


def describe_sw(sw: int) -> str:
    if is_wrong_pin(sw):
        return f"wrong PIN, {sw & 0x0F} tries left"
    return SW_MEANING.get(sw, f"unknown status {sw:04X}")


@dataclass(frozen=True)
class CommandAPDU:
    cla: int
    ins: int
    p1: int = 0
    p2: int = 0
    data: bytes = b""
    le: int | None = None
    """Expected response length; 256 is encoded as 00. None means no response data expected."""

    def encode(self) -> bytes:
        for name, value in (("CLA", self.cla), ("INS", self.ins), ("P1", self.p1), ("P2", self.p2)):
            if not 0 <= value <= 0xFF:
                raise FormatError(f"{name} out of range: {value}")
        if len(self.data) > MAX_SHORT_DATA:
            raise FormatError(f"command data too long for a short APDU: {len(self.data)}")
        out = bytearray((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            out.append(len(self.data))
            out += self.data
        if self.le is not None:
            if not 1 <= self.le <= MAX_SHORT_RESPONSE:
                raise FormatError(f"Le out of range: {self.le}")
            out.append(self.le & 0xFF)
        return bytes(out)

    @classmethod
    def decode(cls, raw: bytes) -> CommandAPDU:
        """Parse a short command APDU (ISO 7816-3 cases 1-4); extended length is refused."""
        if len(raw) < 4:
            raise FormatError("command APDU shorter than 4 bytes")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0] or MAX_SHORT_RESPONSE)
        lc = body[0]
        if lc == 0:
            raise FormatError("extended-length APDUs are not supported")
        if len(body) == 1 + lc:
            return cls(cla, ins, p1, p2, data=bytes(body[1:]))
        if len(body) == 2 + lc:
            return cls(cla, ins, p1, p2, data=bytes(body[1:-1]), le=body[-1] or MAX_SHORT_RESPONSE)
        raise FormatError(f"Lc={lc} does not match {len(body) - 1} bytes of body")


@dataclass(frozen=True)
class ResponseAPDU:
    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw == SW.OK

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @classmethod
    def decode(cls, raw: bytes) -> ResponseAPDU:
        if len(raw) < 2:
            raise FormatError("response APDU shorter than 2 bytes")
        if len(raw) > MAX_SHORT_RESPONSE + 2:
            raise FormatError("response APDU longer than a short response")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))
