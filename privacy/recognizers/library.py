"""Presidio's own recognisers, configured for this engine: what the maintained libraries detect.

EMAIL (Presidio's pattern, its domain checked against tldextract's bundled suffix list, never
fetched), PHONE (Presidio's PhoneRecognizer over `phonenumbers`, in every region a support desk
of ours hears from), CARD (Luhn), IBAN (mod-97), IP (v4/v6, validated by `ipaddress`), and the
national ids Presidio knows with their checks: US SSN rules, UK NINO, Spanish DNI/NIE letter,
German Steuer-IdNr. Each is instantiated for every engine language, since personal data does not
follow the language of the sentence around it. `ENTITY_KIND` maps Presidio's entity names to ours.
"""

from __future__ import annotations

import tldextract
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    DeTaxIdRecognizer,
    EmailRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UkNinoRecognizer,
    UsSsnRecognizer,
)
from presidio_analyzer import Pattern

ENTITY_KIND = {
    "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CARD", "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP", "US_SSN": "NATIONAL_ID", "UK_NINO": "NATIONAL_ID", "ES_NIF": "NATIONAL_ID",
    "ES_NIE": "NATIONAL_ID", "DE_TAX_ID": "NATIONAL_ID", "PERSON": "NAME",
}
PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "CN", "IT", "NL", "BE", "CH", "AT", "IE", "CA", "AU", "IN", "MX")
PHONE_CONTEXT = ["phone", "telephone", "cell", "mobile", "call", "reach", "contact", "Telefon", "Handy",
                 "Rufnummer", "Mobilnummer", "anrufen", "erreichbar", "téléphone", "portable", "joindre", "appeler",
                 "teléfono", "móvil", "llamar", "contacto", "电话", "手机"]
CARD_CONTEXT = ["card", "credit", "debit", "visa", "mastercard", "amex", "Karte", "Kreditkarte", "carte",
                "tarjeta", "卡号", "银行卡", "信用卡"]
SSN_CONTEXT = ["ssn", "social security", "social", "security number"]
# Amex is written 4-6-5, Diners 4-6-4: Presidio's card pattern expects groups of three to five.
CARD_EXTRA = [Pattern("Card 4-6-5 / 4-6-4", r"\b3\d{3}[- ]\d{6}[- ]\d{4,5}\b", 0.3),
              Pattern("Card 13-19 digits", r"\b(?:\d[ -]?){12,18}\d\b", 0.1)]

_offline_tld = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recogniser; the domain is checked against the suffix list shipped with tldextract."""

    def validate_result(self, pattern_text: str):
        return _offline_tld(pattern_text.rsplit("@", 1)[-1]).fqdn != ""


def builtin_recognizers(language: str) -> list:
    card = CreditCardRecognizer(supported_language=language, context=CARD_CONTEXT)
    card.patterns = card.patterns + CARD_EXTRA
    return [
        OfflineEmailRecognizer(supported_language=language),
        PhoneRecognizer(supported_language=language, context=PHONE_CONTEXT, supported_regions=PHONE_REGIONS),
        card,
        IbanRecognizer(supported_language=language),
        IpRecognizer(supported_language=language),
        UsSsnRecognizer(supported_language=language, context=SSN_CONTEXT),
        UkNinoRecognizer(supported_language=language),
        EsNifRecognizer(supported_language=language),
        EsNieRecognizer(supported_language=language),
        DeTaxIdRecognizer(supported_language=language),
    ]
