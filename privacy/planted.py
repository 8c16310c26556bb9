"""The planted-PII set: support turns in en/de/fr/es/zh with personal data of every kind, plus
PII-free controls (amounts, dates, order numbers, "card ending 1234", products, places).

`generate(pool, n, seed)` fills the sentence pools of privacy.planted_templates with Faker values
(en_US/en_GB, de_DE, fr_FR, es_ES, zh_CN) and records each planted value's span. The "dev" and
"held" parts use disjoint sentence pools and different seeds; the engine is never tuned on "held".
`write_sets(out_dir)` writes `{dev,held}.messages.jsonl` ({"id", "text"}) and
`{dev,held}.truth.jsonl` ({"id", "lang", "speaker", "control", "entities": [{"kind", "start",
"end"}]}). Same arguments, same files.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from faker import Faker

from privacy import checksums
from privacy.planted_templates import CITIES, CONTROLS, PII, PRODUCTS, PRODUCTS_ZH

LOCALES = {"en": ("en_US", "en_GB"), "de": ("de_DE",), "fr": ("fr_FR",), "es": ("es_ES",), "zh": ("zh_CN",)}
SLOT = re.compile(r"\{([A-Z_0-9]+)\}")
SEEDS = {"dev": 1301, "held": 7919}
CONTROL_SHARE = 0.2
MONTHS = {"en": "January February March April May June July August September October November December",
          "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
          "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
          "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"}


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return next(body + d for d in "0123456789" if checksums.luhn_ok(body + d))


def _group(digits: str, sizes, sep: str) -> str:
    out, i = [], 0
    for s in sizes:
        out.append(digits[i:i + s])
        i += s
    if i < len(digits):
        out.append(digits[i:])
    return sep.join(p for p in out if p)


class Values:
    """Fresh personal data and control values for one language."""

    def __init__(self, lang: str, rng: random.Random, seed: int):
        self.lang, self.rng = lang, rng
        self.fakers = [Faker(loc) for loc in LOCALES[lang]]
        for i, f in enumerate(self.fakers):
            f.seed_instance(seed + i)

    @property
    def f(self) -> Faker:
        return self.rng.choice(self.fakers)

    def NAME(self, template: str) -> str:
        f = self.f
        if self.lang == "zh":
            return f.name()
        name = f"{f.first_name()} {f.last_name()}" if self.rng.random() < 0.7 else f.last_name()
        if re.search(r"(?i)(?:mr|herr|frau|monsieur|madame|señor|señora)\s*\{NAME\}", template):
            name = f.last_name()
        return name

    def EMAIL(self, template: str) -> str:
        return self.f.email() if self.rng.random() < 0.6 else self.f.free_email()

    def PHONE(self, template: str) -> str:
        r = self.rng
        if self.lang == "zh":
            if r.random() < 0.75:
                d = r.choice("3456789") + "".join(r.choice("0123456789") for _ in range(9))
                num = "1" + d
                style = r.randrange(4)
                return [num, f"{num[:3]} {num[3:7]} {num[7:]}", f"{num[:3]}-{num[3:7]}-{num[7:]}",
                        f"+86 {num[:3]} {num[3:7]} {num[7:]}"][style]
            area = r.choice(["010", "021", "020", "0755", "028", "0571"])
            rest = "".join(r.choice("0123456789") for _ in range(8 if len(area) == 3 else 7))
            return f"{area}-{rest}" if r.random() < 0.6 else f"({area}) {rest}"
        phone = self.f.phone_number()
        return re.split(r"\s*(?:x|ext\.?)\s*\d+$", phone)[0]

    def CARD(self, template: str) -> str:
        r = self.rng
        kind = r.choice(["visa", "mc", "amex", "discover", "unionpay" if self.lang == "zh" else "visa"])
        if kind == "amex":
            digits = _luhn_complete(r.choice(["34", "37"]), 15, r)
            return r.choice([digits, _group(digits, (4, 6, 5), " "), _group(digits, (4, 6, 5), "-")])
        prefix = {"visa": "4", "mc": r.choice(["51", "53", "55", "2221"]), "discover": "6011",
                  "unionpay": "62"}[kind]
        digits = _luhn_complete(prefix, 19 if kind == "unionpay" and r.random() < 0.4 else 16, r)
        return r.choice([digits, _group(digits, (4, 4, 4, 4), " "), _group(digits, (4, 4, 4, 4), "-")])

    def CVV(self, template: str) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(self.rng.choice((3, 3, 3, 4))))

    def IBAN(self, template: str) -> str:
        iban = self.f.iban() if self.lang != "zh" else Faker(self.rng.choice(["de_DE", "en_GB"])).iban()
        return _group(iban, (4,) * 8, " ") if self.rng.random() < 0.5 else iban

    def ACCOUNT(self, template: str) -> str:
        r = self.rng
        if "sort code" in template:
            return "-".join(f"{r.randrange(100):02d}" for _ in range(3))
        n = {"en": 8, "de": 10, "fr": 11, "es": 10, "zh": 12}[self.lang]
        return str(r.randrange(1, 10)) + "".join(r.choice("0123456789") for _ in range(n - 1))

    def ADDRESS(self, template: str) -> str:
        r, f, lang = self.rng, self.f, self.lang
        if lang == "zh":
            rest = f"{r.randrange(1, 300)}号" + (f"{r.randrange(1, 30)}栋{r.randrange(101, 2999)}室" if r.random() < 0.6 else "")
            return f"{f.province()}{f.city()}{f.district()}区{f.street_name()}{rest}"
        street = " ".join(f.street_address().replace("\n", ", ").split()).rstrip(" ,")
        if lang == "fr" and not street[:1].isdigit():
            street = f"{r.randrange(1, 120)} {street}"
        if r.random() < 0.5:
            if f.locale if hasattr(f, "locale") else False:
                pass
            if lang == "en" and f.__dict__.get("_locales", ["en_US"])[0] == "en_US":
                return f"{street}, {f.city()}, {f.state_abbr()} {f.zipcode()}"
            if lang == "en":
                return f"{street}, {f.city()} {f.postcode()}"
            return f"{street}, {f.postcode()} {f.city()}"
        return street

    def DOB(self, template: str) -> str:
        d = self.f.date_of_birth(minimum_age=18, maximum_age=90)
        lang, r = self.lang, self.rng
        if lang == "zh":
            return r.choice([f"{d.year}年{d.month}月{d.day}日", d.isoformat()])
        month = MONTHS[lang].split()[d.month - 1]
        return r.choice({
            "en": [f"{month} {d.day}, {d.year}", f"{d.month:02d}/{d.day:02d}/{d.year}", f"{d.day} {month} {d.year}",
                   d.isoformat()],
            "de": [f"{d.day:02d}.{d.month:02d}.{d.year}", f"{d.day}. {month} {d.year}"],
            "fr": [f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day} {month} {d.year}"],
            "es": [f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day} de {month} de {d.year}"],
        }[lang])

    def NATIONAL_ID(self, template: str) -> str:
        r, lang = self.rng, self.lang
        if lang == "en":
            if re.search(r"(?i)\bNI\b|national insurance", template):
                return self._nino()
            return Faker("en_US").ssn() if r.random() < 0.5 else self.fakers[0].ssn()
        if lang == "de":
            while True:
                v = str(r.randrange(1, 10)) + "".join(r.choice("0123456789") for _ in range(10))
                if checksums.de_tax_id_ok(v):
                    return v if r.random() < 0.6 else f"{v[:2]} {v[2:5]} {v[5:8]} {v[8:]}"
        if lang == "fr":
            v = self.f.ssn()
            return v if r.random() < 0.5 else f"{v[0]} {v[1:3]} {v[3:5]} {v[5:7]} {v[7:10]} {v[10:13]} {v[13:]}"
        if lang == "es":
            return self.f.nie() if "NIE" in template or r.random() < 0.3 else self.f.nif()
        return self.f.ssn()

    def _nino(self) -> str:
        r = self.rng
        while True:
            v = (r.choice("ABCEGHJKLMNOPRSTWXYZ") + r.choice("ABCEGHJKLMNPRSTWXYZ")
                 + "".join(r.choice("0123456789") for _ in range(6)) + r.choice("ABCD"))
            if checksums.uk_nino_ok(v):
                return v if r.random() < 0.5 else f"{v[:2]} {v[2:4]} {v[4:6]} {v[6:8]} {v[8]}"

    def IP(self, template: str) -> str:
        return self.f.ipv4_public() if self.rng.random() < 0.7 else self.f.ipv6()

    # --- controls ------------------------------------------------------------------------------
    def AMOUNT(self, template: str) -> str:
        r = self.rng
        v = r.choice([r.randrange(5, 100) + 0.99, r.randrange(100, 5000) + 0.5, float(r.randrange(1000, 20000))])
        whole, cents = f"{v:,.2f}".split(".")
        return {"en": r.choice([f"${whole}.{cents}", f"£{whole}.{cents}"]),
                "de": f"{whole.replace(',', '.')},{cents} €", "fr": f"{whole.replace(',', ' ')},{cents} €",
                "es": f"{whole.replace(',', '.')},{cents} €",
                "zh": r.choice([f"¥{whole}.{cents}", f"{int(v)}元"])}[self.lang]

    def DATE(self, template: str) -> str:
        d = self.f.date_between(start_date="-2y", end_date="+60d")
        lang = self.lang
        if lang == "zh":
            return f"{d.year}年{d.month}月{d.day}日"
        month = MONTHS[lang].split()[d.month - 1]
        return self.rng.choice({"en": [f"{d.day:02d}/{d.month:02d}/{d.year}", f"{month} {d.day}"],
                                "de": [f"{d.day:02d}.{d.month:02d}.{d.year}", f"{d.day}. {month}"],
                                "fr": [f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day} {month}"],
                                "es": [f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day} de {month}"]}[lang])

    def ORDER(self, template: str) -> str:
        r = self.rng
        return r.choice([f"#A{r.randrange(10000, 99999)}", f"ORD-{r.randrange(100000, 999999)}",
                         f"#{r.randrange(1000000, 9999999)}"])

    def LAST4(self, template: str) -> str:
        return f"{self.rng.randrange(10000):04d}"

    def PRODUCT(self, template: str) -> str:
        return self.rng.choice(PRODUCTS_ZH if self.lang == "zh" else PRODUCTS)

    def CITY(self, template: str) -> str:
        return self.rng.choice(CITIES[self.lang])

    def YEAR(self, template: str) -> str:
        return str(self.rng.randrange(2012, 2025))

    def COUNT(self, template: str) -> str:
        return str(self.rng.randrange(2, 12))


def fill(template: str, values: Values) -> tuple[str, list[dict]]:
    """The sentence with its slots filled, and the spans of the personal data put in."""
    out, spans, pos = [], [], 0
    length = 0
    for m in SLOT.finditer(template):
        out.append(template[pos:m.start()])
        length += m.start() - pos
        kind = m.group(1)
        value = getattr(values, kind)(template)
        if kind in ("NAME", "EMAIL", "PHONE", "CARD", "CVV", "IBAN", "ACCOUNT", "ADDRESS", "DOB", "NATIONAL_ID", "IP"):
            spans.append({"kind": kind, "start": length, "end": length + len(value)})
        out.append(value)
        length += len(value)
        pos = m.end()
    out.append(template[pos:])
    return "".join(out), spans


def generate(pool: str, n: int = 600, seed: int | None = None) -> list[tuple[dict, dict]]:
    """n (message, truth) pairs from one pool, every language and kind covered in turn."""
    if pool not in PII:
        raise ValueError(f"pool must be one of {sorted(PII)}")
    seed = SEEDS[pool] if seed is None else seed
    rng = random.Random(seed)
    langs = sorted(PII[pool])
    values = {lang: Values(lang, rng, seed) for lang in langs}
    out = []
    for i in range(n):
        lang = langs[i % len(langs)]
        control = rng.random() < CONTROL_SHARE
        templates = (CONTROLS if control else PII)[pool][lang]
        template = templates[(i // len(langs)) % len(templates)] if rng.random() < 0.7 else rng.choice(templates)
        speaker, template = template.split(":", 1)
        text, spans = fill(template, values[lang])
        if not control and rng.random() < 0.15:  # a second sentence with more personal data
            other = rng.choice([t for t in templates if t.startswith(speaker + ":")]).split(":", 1)[1]
            more, more_spans = fill(other, values[lang])
            sep = "" if lang == "zh" else " "
            offset = len(text) + len(sep)
            text += sep + more
            spans += [{**s, "start": s["start"] + offset, "end": s["end"] + offset} for s in more_spans]
        mid = f"{pool}-{i:05d}"
        out.append(({"id": mid, "text": text},
                    {"id": mid, "lang": lang, "speaker": "customer" if speaker == "c" else "agent",
                     "control": control, "entities": spans}))
    return out


def write_sets(out_dir: str | Path, n: int = 600) -> dict:
    """Both parts under `out_dir`; returns {part: {"messages": path, "truth": path, "count": n}}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {}
    for pool in ("dev", "held"):
        pairs = generate(pool, n)
        m_path, t_path = out_dir / f"{pool}.messages.jsonl", out_dir / f"{pool}.truth.jsonl"
        with m_path.open("w", encoding="utf-8") as fm, t_path.open("w", encoding="utf-8") as ft:
            for message, truth in pairs:
                fm.write(json.dumps(message, ensure_ascii=False) + "\n")
                ft.write(json.dumps(truth, ensure_ascii=False) + "\n")
        report[pool] = {"messages": str(m_path), "truth": str(t_path), "count": len(pairs)}
    return report
