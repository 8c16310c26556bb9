"""Presidio's own recognisers, configured for this engine: what the maintained libraries detect.

EMAIL (Presidio's pattern, its domain checked against tldextract's bundled suffix list, never
fetched), PHONE (Presidio's PhoneRecognizer over `phonenumbers`: international numbers from every
region, national forms in the regions of the message's language), CARD (Luhn), IBAN (mod-97), IP (v4/v6, validated by `ipaddress`), and the
national ids Presidio knows with their checks: US SSN rules, UK NINO, Spanish DNI/NIE letter,
German Steuer-IdNr. Each is instantiated for every engine language, since personal data does not
follow the language of the sentence around it. `ENTITY_KIND` maps Presidio's entity names to ours.
"""

from __future__ import annotations

import tldextract
from presidio_analyzer import Pattern
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

ENTITY_KIND = {
    "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CARD", "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP", "US_SSN": "NATIONAL_ID", "UK_NINO": "NATIONAL_ID", "ES_NIF": "NATIONAL_ID",
    "ES_NIE": "NATIONAL_ID", "DE_TAX_ID": "NATIONAL_ID", "PERSON": "NAME",
}
BUILTIN_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "UK_NINO",
                    "ES_NIF", "ES_NIE", "DE_TAX_ID", "PERSON")
# Numbers written in international form (+49 …) are found whatever the region; a national form
# ("030 1234567", "06 12 34 56 78") is read in the regions of the message's language.
PHONE_REGIONS = {"en": ("US", "GB"), "de": ("DE", "AT", "CH"), "fr": ("FR", "BE"), "es": ("ES", "MX"),
                 "zh": ("CN",)}
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


class GatedPhoneRecognizer(PhoneRecognizer):
    """Presidio's phone recogniser, skipped for text with fewer than seven digits (no phone number
    is shorter) since `phonenumbers`' matcher is the slowest step of the engine."""

    def analyze(self, text, entities, nlp_artifacts=None):
        if sum(c.isdigit() for c in text) < 7:
            return []
        return super().analyze(text, entities, nlp_artifacts)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recogniser; the domain is checked against the suffix list shipped with tldextract."""

    def validate_result(self, pattern_text: str):
        return _offline_tld(pattern_text.rsplit("@", 1)[-1]).fqdn != ""


class SpacedDeTaxIdRecognizer(DeTaxIdRecognizer):
    """Presidio's Steuer-IdNr check, also for the number written in groups ("12 345 678 901")."""

    PATTERNS = DeTaxIdRecognizer.PATTERNS + [
        Pattern("Steuer-IdNr grouped", r"\b[1-9]\d(?:[ /]\d{3}){3}\b", 0.3)]

    def __init__(self, supported_language: str = "de"):
        super().__init__(patterns=self.PATTERNS, supported_language=supported_language)

    def validate_result(self, pattern_text: str):
        return super().validate_result(pattern_text.replace(" ", "").replace("/", ""))


def builtin_recognizers(language: str) -> list:
    card = CreditCardRecognizer(supported_language=language, context=CARD_CONTEXT)
    card.patterns = card.patterns + CARD_EXTRA
    return [
        OfflineEmailRecognizer(supported_language=language),
        GatedPhoneRecognizer(supported_language=language, context=PHONE_CONTEXT,
                             supported_regions=PHONE_REGIONS.get(language, ("US", "GB", "DE", "FR", "ES", "CN"))),
        card,
        IbanRecognizer(supported_language=language),
        IpRecognizer(supported_language=language),
        UsSsnRecognizer(supported_language=language, context=SSN_CONTEXT),
        UkNinoRecognizer(supported_language=language),
        EsNifRecognizer(supported_language=language),
        EsNieRecognizer(supported_language=language),
        SpacedDeTaxIdRecognizer(supported_language=language),
    ]
