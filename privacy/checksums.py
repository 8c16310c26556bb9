"""Check digits of the numbers the engine looks for: a match whose check fails is not that kind.

Pure functions on the characters as written (separators are stripped here, not by callers).
"""

from __future__ import annotations

import re

_SEP = re.compile(r"[\s.\-/]")


def compact(value: str) -> str:
    return _SEP.sub("", value).upper()


def luhn_ok(digits: str) -> bool:
    """Payment card numbers (ISO/IEC 7812): the Luhn mod-10 check."""
    digits = compact(digits)
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    v = compact(value)
    if not (15 <= len(v) <= 34 and v[:2].isalpha() and v[2:4].isdigit() and v.isalnum()):
        return False
    rearranged = v[4:] + v[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


def cn_resident_id_ok(value: str) -> bool:
    """身份证 (GB 11643-1999): 17 digits, a birth date at 7-14, then the ISO 7064 MOD 11-2 check character."""
    v = compact(value)
    if len(v) != 18 or not v[:17].isdigit():
        return False
    year, month, day = int(v[6:10]), int(v[10:12]), int(v[12:14])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    return _CN_CHECK[sum(int(c) * w for c, w in zip(v[:17], _CN_WEIGHTS)) % 11] == v[17]


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni_ok(value: str) -> bool:
    """Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter): letter = number mod 23."""
    v = compact(value)
    if len(v) != 9:
        return False
    head = v[:8]
    if head[0] in "XYZ":
        head = str("XYZ".index(head[0])) + head[1:]
    return head.isdigit() and _DNI_LETTERS[int(head) % 23] == v[8]


def fr_nir_ok(value: str) -> bool:
    """French NIR (numéro de sécurité sociale): 13 characters + a 2-digit key = 97 - (number mod 97).
    Corsica's 2A/2B departments count as 19/18 for the key."""
    v = compact(value)
    if len(v) != 15 or v[0] not in "12":
        return False
    body = v[:13].replace("2A", "19", 1) if v[5:7] == "2A" else v[:13].replace("2B", "18", 1) if v[5:7] == "2B" else v[:13]
    if not body.isdigit() or not v[13:].isdigit():
        return False
    return 97 - int(body) % 97 == int(v[13:])


def us_ssn_ok(value: str) -> bool:
    """US SSN: 9 digits; area not 000, 666 or 9xx, group not 00, serial not 0000 (SSA rules)."""
    v = compact(value)
    if len(v) != 9 or not v.isdigit():
        return False
    area, group, serial = v[:3], v[3:5], v[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000" \
        and v not in ("123456789", "078051120")


_NINO = re.compile(r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")


def uk_nino_ok(value: str) -> bool:
    """UK National Insurance number: two prefix letters from the allowed sets, six digits, suffix A-D."""
    return bool(_NINO.match(compact(value)))


def de_tax_id_ok(value: str) -> bool:
    """German Steuer-IdNr (11 digits): ISO 7064 MOD 11,10 check digit, first digit not 0."""
    v = compact(value)
    if len(v) != 11 or not v.isdigit() or v[0] == "0":
        return False
    if max(v[:10].count(d) for d in set(v[:10])) > 3:  # BZSt rule since 2016
        return False
    product = 10
    for c in v[:10]:
        total = (int(c) + product) % 10 or 10
        product = (total * 2) % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(v[10])
