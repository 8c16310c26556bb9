"""The engine's own recognisers for numbers that Presidio's built-in ones do not cover.

CN_PHONE (Chinese mobiles 1[3-9]x and landlines 0xx, also written with spaces or dashes), CN_ID
(身份证 with its check character), FR_NIR (with its key), CVV, PIN, ACCOUNT (account and sort-code
numbers, and bare runs of 8+ digits), DOB (a date next to a birth word), PHONE for phone-shaped
numbers next to a phone word. Kinds that need context words only ever fire next
to them, which is what keeps "card ending 1234", order totals and ordinary dates untouched.
"""

from __future__ import annotations

from privacy import checksums
from privacy.recognizers.base import ContextPatternRecognizer, words_regex


class ChinesePhoneRecognizer(ContextPatternRecognizer):
    ENTITY = "PHONE"
    PATTERNS = (
        (r"(?<![\d\-])(?:\+?86[\s\-]?)?1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4}(?![\d\-])", 0.7),
        (r"(?<![\d\-])(?:\(0\d{2,3}\)|0\d{2,3})[\s\-]?\d{7,8}(?![\d\-])", 0.45),
    )
    CONTEXT = ("电话", "手机", "号码", "联系", "致电", "座机", "phone", "mobile", "call", "Telefon", "Handy",
               "téléphone", "portable", "teléfono", "móvil")


class ChineseIdRecognizer(ContextPatternRecognizer):
    ENTITY = "NATIONAL_ID"
    PATTERNS = ((r"(?<![\dA-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![\dA-Za-z])", 0.5),)
    CONTEXT = ("身份证", "证件", "身份", "ID")

    def validate(self, value: str) -> bool | None:
        return checksums.cn_resident_id_ok(value)


class FrenchNirRecognizer(ContextPatternRecognizer):
    ENTITY = "NATIONAL_ID"
    PATTERNS = ((r"(?<![\d])[12][\s.]?\d{2}[\s.]?(?:0[1-9]|1[0-2]|[2-9]\d)[\s.]?(?:\d{2}|2[AB])[\s.]?\d{3}"
                 r"[\s.]?\d{3}[\s.]?\d{2}(?!\d)", 0.5),)
    CONTEXT = ("sécurité sociale", "NIR", "numéro de sécu", "INSEE", "social security")

    def validate(self, value: str) -> bool | None:
        return checksums.fr_nir_ok(value)


class CvvRecognizer(ContextPatternRecognizer):
    """A security code is three or four digits: only ever next to one of its names."""

    ENTITY = "CVV"
    PATTERNS = ((r"(?<![\d/])(?<!\d[.,])\d{3,4}(?![\d/]|[.,]\d|\s?(?:€|\$|£|EUR|USD|元|%))", 0.3),)
    CONTEXT = ("cvv", "cvv2", "cvc", "cvc2", "csc", "security code", "card verification", "verification code",
               "3-digit code", "three-digit code", "digits on the back", "code on the back",
               "Prüfnummer", "Prüfziffer", "Kartenprüfnummer", "Sicherheitscode",
               "cryptogramme", "code de sécurité", "code de vérification", "code au dos",
               "código de seguridad", "código CVV", "código de verificación",
               "安全码", "验证码", "校验码", "卡背面")
    NEEDS_CONTEXT = True
    WINDOW = 45


class PinRecognizer(ContextPatternRecognizer):
    """A PIN or passcode: four to six digits after one of its names (one to three of them)."""

    ENTITY = "PIN"
    PATTERNS = ((r"(?<![\d/])(?<!\d[.,])\d{4,6}(?![\d/]|[.,]\d)", 0.3),)
    CONTEXT = ("pin", "pin code", "passcode", "pass code", "PIN-Code", "Geheimzahl", "code PIN", "code secret",
               "código PIN", "clave", "密码")
    NEEDS_CONTEXT = True
    WINDOW = 40


class BareNumberRecognizer(ContextPatternRecognizer):
    """A run of eight or more digits, no currency or unit near it, is somebody's number (account,
    member, policy …) even without a context word: nothing a support desk must keep is written so."""

    ENTITY = "ACCOUNT"
    PATTERNS = ((r"(?<![A-Za-z0-9#$€£¥.,/\-])\d{8,}(?![A-Za-z0-9/%\-]|[.,]\d|\s?(?:€|\$|£|EUR|USD|元|%))", 0.45),)


class ContextPhoneRecognizer(ContextPatternRecognizer):
    """A phone-shaped number next to a phone word, for numbers `phonenumbers` does not accept as
    valid in the message's regions (a new range, a foreign national form, a typo in the prefix)."""

    ENTITY = "PHONE"
    PATTERNS = ((r"(?<![\w+\-])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,5}\)[\s.\-]?)?\d{2,5}(?:[\s.\-]?\d{2,5}){1,4}(?![\w\-])", 0.3),)
    CONTEXT = ("phone", "telephone", "mobile", "cell", "my number", "call me", "call", "text me", "reach me",
               "contact", "tel", "landline", "Telefon", "Handy", "Rufnummer", "Mobilnummer", "Handynummer",
               "anrufen", "erreichen", "erreichbar", "téléphone", "portable", "mobile", "appeler", "rappeler",
               "joindre", "joignable", "teléfono", "móvil", "llamar", "llámeme", "llamamos", "contacto",
               "电话", "手机", "联系", "致电")
    NEEDS_CONTEXT = True
    WINDOW = 30

    def validate(self, value: str) -> bool | None:
        digits = sum(c.isdigit() for c in value)
        return None if 7 <= digits <= 15 else False


class NorthAmericanPhoneRecognizer(ContextPatternRecognizer):
    """"555-867-5309", "(555) 123-4567": the 3-3-4 shape is a phone number in any sentence, valid
    range or not (`phonenumbers` rejects fictional and unassigned area codes)."""

    ENTITY = "PHONE"
    PATTERNS = ((r"(?<![\w\-.])(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[.\-]\d{4}(?![\w\-]|\.\d)", 0.45),)


class AccountRecognizer(ContextPatternRecognizer):
    ENTITY = "ACCOUNT"
    PATTERNS = (
        (r"(?<![A-Za-z0-9-])(?:[A-Z]{1,4}-?)?\d[\d\- ]{3,18}\d(?![A-Za-z0-9-])", 0.3),
        (r"(?<![\d-])\d{2}-\d{2}-\d{2}(?![\d-])", 0.3),  # UK sort code
    )
    CONTEXT = ("account number", "account no", "account #", "account", "acct", "a/c", "sort code",
               "member number", "membership number", "customer number", "customer reference", "reference number",
               "policy number", "routing number",
               "Kontonummer", "Konto-Nr", "Konto", "Kundennummer", "Bankleitzahl", "BLZ", "Mitgliedsnummer",
               "numéro de compte", "n° de compte", "compte", "numéro client", "code guichet", "numéro d'adhérent",
               "número de cuenta", "cuenta", "número de cliente", "nº de cuenta", "número de socio",
               "账号", "账户", "帐号", "帐户", "客户号", "会员号")
    NEEDS_CONTEXT = True
    WINDOW = 30
    FLAGS = 0

    def load(self) -> None:
        super().load()
        self._context = words_regex(self.CONTEXT)

    def validate(self, value: str) -> bool | None:
        digits = sum(c.isdigit() for c in value)
        return None if digits >= 5 or value.count("-") == 2 else False


MONTHS = (r"(?:jan(?:uary|uar|vier|\.)?|feb(?:ruary|ruar|\.)?|febrero|fév(?:rier|\.)?|m(?:arch|ärz|ars|arzo|ar\.)|"
          r"apr(?:il|\.)?|avr(?:il|\.)?|abril|ma[iy]|mayo|june?|juni|juin|junio|july|juli|juillet|julio|"
          r"aug(?:ust|\.)?|août|agosto|sep(?:tember|tembre|tiembre|t\.|\.)?|setiembre|o[ck]t(?:ober|obre|ubre|\.)?|"
          r"nov(?:ember|embre|iembre|\.)?|d[eé]c(?:ember|embre|\.)?|dez(?:ember|\.)?|diciembre|enero|janvier)")
DATE_PATTERNS = (
    (r"(?<![\d.])\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d{2}(?![\d.]\d)", 0.3),
    (r"(?<![\d.])(?:19|20)\d{2}[./-]\d{1,2}[./-]\d{1,2}(?!\d)", 0.3),
    (r"(?<!\d)\d{1,2}(?:st|nd|rd|th|er|\.|º)?\s+(?:de\s+)?" + MONTHS + r",?\s+(?:de\s+)?(?:19|20)\d{2}(?!\d)", 0.3),
    (MONTHS + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2}(?!\d)", 0.3),
    (r"(?:19|20)\d{2}\s?年\s?\d{1,2}\s?月\s?\d{1,2}\s?[日号]", 0.3),
)


class DobRecognizer(ContextPatternRecognizer):
    ENTITY = "DOB"
    PATTERNS = DATE_PATTERNS
    CONTEXT = ("date of birth", "birth date", "birthdate", "birthday", "born", "d.o.b", "dob",
               "Geburtsdatum", "geboren", "Geburtstag", "geb.",
               "date de naissance", "né le", "née le", "né", "née", "naissance",
               "fecha de nacimiento", "nací", "nacido", "nacida", "nacimiento", "cumpleaños",
               "出生", "出生日期", "生日", "出生于")
    NEEDS_CONTEXT = True
    WINDOW = 45
    AFTER = 12  # "Ich bin am 3. Juli 1955 geboren."
