"""The engine's own recognisers for names and postal addresses, where a pattern plus context works.

NAME: a capitalised word run after an introduction, greeting, sign-off or honorific in English,
German, French or Spanish ("my name is", "ich heiße", "je m'appelle", "me llamo", "Herr", "Mme" …),
and Chinese names: a common surname plus one or two characters after 我叫/我是/姓名/联系人 …, or a
surname before 先生/女士/小姐. English text also gets spaCy's PERSON entities (see engine.py).
ADDRESS: street patterns of each language (number + street + suffix in English, "…straße 12" in
German, "12, rue …" in French, "Calle … 12" in Spanish, …路…号 in Chinese), extended over a
following unit, postcode and town. A town or a street named on its own is not an address.
"""

from __future__ import annotations

import re

from presidio_analyzer import RecognizerResult

from privacy.recognizers.base import ContextPatternRecognizer

UP = "A-ZÀ-ÖØ-ÞŁŚŻŹĆŃ"
LOW = "a-zà-öø-ÿßłśżźćńęąő"
NAME_WORD = rf"[{UP}][{LOW}'’]+(?:-[{UP}][{LOW}'’]+)?"
PARTICLE = r"(?:van der|van den|van|von der|von|de la|de los|del|de|da|di|du|le|la|dos|das|ten|ter|bin|al|y)"
FULL_NAME = rf"{NAME_WORD}(?:\s+(?:{PARTICLE}\s+)?{NAME_WORD}){{0,3}}"

STRONG_TRIGGERS = (
    r"my name is", r"my name's", r"name is", r"name:", r"names are", r"call me", r"full name is",
    r"ich heiße", r"ich heisse", r"mein name ist", r"mein name lautet", r"name lautet", r"hier spricht",
    r"je m'appelle", r"je m’appelle", r"mon nom est", r"mon nom c'est", r"nom\s?:", r"au nom de",
    r"me llamo", r"mi nombre es", r"nombre\s?:", r"a nombre de", r"en nombre de", r"name\s?:",
    r"account holder", r"cardholder", r"Kontoinhaber(?:in)?", r"titulaire", r"titular",
)
HONORIFICS = (r"Mr\.?", r"Mrs\.?", r"Ms\.?", r"Miss", r"Mx\.?", r"Dr\.?", r"Prof\.?", r"Sir", r"Madam",
              r"Herr(?:n)?", r"Frau", r"M\.", r"Mme\.?", r"Mlle\.?", r"Monsieur", r"Madame", r"Mademoiselle",
              r"Sr\.?", r"Sra\.?", r"Srta\.?", r"Don", r"Doña", r"Señor", r"Señora", r"señor", r"señora")
WEAK_TRIGGERS = (
    r"I'm", r"I am", r"this is", r"it's", r"it is", r"speaking with", r"you're speaking to", r"regards,?",
    r"thanks,", r"thank you,", r"cheers,", r"sincerely,?", r"dear", r"hi", r"hello", r"hey", r"thanks", r"thank you",
    r"best wishes,?", r"best,", r"kind regards,?", r"many thanks,?", r"good morning", r"good afternoon", r"good evening",
    r"ich bin", r"hier ist", r"hallo", r"liebe", r"lieber", r"danke,?", r"vielen dank,?", r"grüße,?", r"gruß,?",
    r"grüßen,?", r"guten tag", r"guten morgen", r"guten abend",
    r"je suis", r"c'est", r"ici", r"bonjour", r"bonsoir", r"merci,?", r"cordialement,?", r"salut", r"cher", r"chère",
    r"bien à vous,?",
    r"soy", r"aquí", r"hola", r"gracias,?", r"saludos,?", r"atentamente,?", r"habla", r"le atiende", r"estimado",
    r"estimada", r"querido", r"querida", r"buenos días", r"buenas tardes", r"buenas noches", r"un saludo,?",
)
# Capitalised words that follow those triggers without being a name.
NOT_NAMES = frozenset("""
i a an the this that it my your our his her their we you they me he she there here what when where why how
yes no not ok okay sure sorry fine good great well so and but or if then just also please thanks thank hello hi
hey looking calling trying writing going happy interested unable afraid glad back new still really very
monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday morning evening
january february march april may june july august september october november december
customer support service team agent bank card account order delivery refund help
ich bin sie es das der die ein eine mein meine ihr ihre wir nicht noch ja nein bitte danke guten tag morgen
kunde kundin team support service
je tu il elle nous vous ils le la les un une mon ma mes votre vos oui non merci bonjour bonsoir madame monsieur
client cliente équipe service
yo tú él ella nosotros usted ustedes el los las un una mi mis su sus sí no gracias hola buenos buenas días
cliente equipo servicio atención
mr mr. mrs mrs. ms ms. miss mx dr dr. prof prof. sir madam herr herrn frau m. mme mme. mlle monsieur madame
mademoiselle sr sr. sra sra. srta srta. don doña señor señora
""".split())  # noqa: SIM905

CN_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
               "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
               "戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
               "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉"
               "缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇"
               "桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
CN_COMPOUND = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐")
CN_STOP = "的是在了我你他她们吗呢吧啊和与及或就都也还要想请帮把被给让对从到为先女小老师姐哥您好这那有没不说叫姓名"
_SURNAME = "(?:" + "|".join(CN_COMPOUND) + f"|[{CN_SURNAMES}])"
_GIVEN = f"[^\\W\\d_A-Za-z{CN_STOP}]"
CN_TRIGGERS = r"(?:我叫|我是|我姓|本人|姓名[:：]?\s*|名字[是叫:：]?\s*|联系人[:：]?\s*|收件人[:：]?\s*|收货人[:：]?\s*|持卡人[:：]?\s*|户名[:：]?\s*|客户[:：]?\s*|你好，?|您好，?|谢谢，?)"


class NameRecognizer(ContextPatternRecognizer):
    ENTITY = "NAME"
    FLAGS = 0
    PATTERNS = (
        (r"(?i:(?<![^\W\d_])(?:" + "|".join(STRONG_TRIGGERS) + r"))\s*(?P<v>" + FULL_NAME + ")", 0.85),
        (r"(?<![^\W\d_])(?:" + "|".join(HONORIFICS) + r")\s+(?P<v>" + FULL_NAME + ")", 0.85),
        (r"(?i:(?<![^\W\d_])(?:" + "|".join(WEAK_TRIGGERS) + r"))[\s,]+(?P<v>" + FULL_NAME + ")", 0.6),
        # the person addressed at the end of a clause: "Thank you for waiting, Maria."
        (r",\s+(?P<v>" + FULL_NAME + r")\s*(?:[.!?;]|$)", 0.5),
        (CN_TRIGGERS + "(?P<v>" + _SURNAME + _GIVEN + "{1,2})", 0.85),
        ("(?P<v>" + _SURNAME + _GIVEN + r"{0,2})(?:先生|女士|小姐|老师|同学)", 0.75),
    )

    def spans(self, text: str):
        for s, e, score in super().spans(text):
            words = text[s:e].split()
            # drop leading/trailing words that are ordinary capitalised words
            while words and words[0].lower().strip("'’,") in NOT_NAMES:
                s = text.index(words[0], s) + len(words[0])
                words = words[1:]
            while words and words[-1].lower() in NOT_NAMES:
                words = words[:-1]
            if not words:
                continue
            s = text.index(words[0], s)
            e = text.index(words[-1], s) + len(words[-1])
            yield s, e, score


class NameAnswer:
    """A reply to "May I have your name?": the leading capitalised (or whole short) word run is a name."""

    QUESTION = re.compile(r"(?i)\b(?:your (?:full )?name|who am i speaking|ihren? (?:vollständigen )?namen|wie heißen sie|"
                          r"votre nom|vous appelez|su nombre|tu nombre|cómo se llama|cómo te llamas)\b|贵姓|叫什么|姓名|名字")
    LEADING = re.compile(r"^\s*(?:(?:yes|sure|ok|okay|it's|it is|this is|i am|i'm|ja|oui|sí|si|claro|bien sûr|"
                         r"klar|es ist|c'est|soy|me llamo)[,.!]?\s+)*(?P<v>[^\W\d_][\w'’\-]*(?:\s+[^\W\d_][\w'’\-]*){0,2})",
                         re.IGNORECASE)
    CN = re.compile("^\\s*(?:我叫|我是|叫)?(?P<v>" + _SURNAME + _GIVEN + "{1,2})")

    def asks(self, previous: str | None) -> bool:
        return bool(previous and self.QUESTION.search(previous))

    def find(self, text: str) -> tuple[int, int] | None:
        m = self.CN.match(text) or self.LEADING.match(text)
        if not m:
            return None
        words = m.group("v").split()
        short = len(text.split()) <= 3
        kept = []
        for w in words:
            if w.lower() in NOT_NAMES or not (w[:1].isupper() or short):
                break
            kept.append(w)
        if not kept:
            return None
        s = m.start("v")
        return s, text.index(kept[-1], s) + len(kept[-1])


# Street types: the USPS list of street suffixes (Publication 28, appendix C1) and British ones.
EN_SUFFIX = "|".join(sorted(set("""
Alley Aly Anex Arcade Arc Avenue Ave Av Bayou Beach Bend Bluff Bluffs Bottom Boulevard Blvd Branch Bridge Brook
Brooks Burg Burgs Bypass Camp Canyon Cape Causeway Center Centre Centers Circle Cir Circles Cliff Cliffs Club Common
Commons Corner Corners Course Court Ct Courts Cove Coves Creek Crescent Cres Crest Crossing Crossroad Curve Dale Dam
Divide Drive Dr Drives Estate Estates Expressway Extension Extensions Fall Falls Ferry Field Fields Flat Flats Ford
Fords Forest Forge Forges Fork Forks Fort Freeway Garden Gardens Gateway Gate Glen Glens Green Greens Grove Groves
Harbor Harbors Haven Heights Highway Hwy Hill Hills Hollow Inlet Island Islands Isle Junction Junctions Key Keys
Knoll Knolls Lake Lakes Land Landing Lane Ln Light Lights Loaf Lock Locks Lodge Loop Mall Manor Manors Meadow Meadows
Mews Mill Mills Mission Motorway Mount Mountain Mountains Neck Orchard Oval Overpass Park Parks Parkway Pkwy Parkways
Pass Passage Path Pike Pine Pines Place Pl Plain Plains Plaza Point Points Port Ports Prairie Radial Ramp Ranch Rapid
Rapids Rest Ridge Ridges River Road Rd Roads Route Row Rue Run Shoal Shoals Shore Shores Skyway Spring Springs Spur
Spurs Square Sq Squares Station Stravenue Stream Street St Streets Summit Terrace Ter Throughway Trace Track
Trafficway Trail Trl Trailer Tunnel Turnpike Underpass Union Unions Valley Valleys Viaduct View Views Village
Villages Ville Vista Walk Walks Wall Way Ways Well Wells Close Rise Vale Parade Drove Wynd Chase Approach Broadway
""".split()), key=len, reverse=True))  # noqa: SIM905
EN_STREET = (rf"(?<![\w-])\d{{1,5}}[A-Za-z]?(?:-\d{{1,4}})?\s+(?:[NSEW]\.?\s+)?(?:[A-Z][\w'’\-]*\.?\s+){{1,4}}(?:{EN_SUFFIX})\b\.?"
             rf"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?")
EN_UNIT = r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|#)\.?\s*#?[\w-]{1,5})?"
EN_TOWN = (r"(?:,\s*(?!(?:and|or|but|please|thanks|which|where|from|since)\b)[A-Z][a-zA-Z'\-]+(?:\s[A-Z][a-zA-Z'\-]+){0,2})?"
           r"(?:,?\s*(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{5}(?:-\d{4})?))?")
EN_FLAT_FIRST = r"(?:(?:Flat|Studio|Apt\.?|Apartment|Unit|Suite)\s+[\w-]{1,5},?\s+)"
EN_FLAT_STREET = (r"(?:Flat|Studio|Apartment|Unit)\s+\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][\w'’\-]*\s+){1,3}(?:" + EN_SUFFIX + r")\b")
DE_NUMBER = r"\d{1,4}(?:\s?[a-zA-Z]\b|[/-]\d{1,4})?"
DE_STREET = (r"(?:[A-ZÄÖÜ][\wäöüß\-]*\s)?[A-ZÄÖÜ][\wäöüß\-]*(?i:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|"
             r"ufer|chaussee|steig|pfad|markt|graben|kamp|stieg|zeile|hof|berg|tor|brücke|wall)\s*" + DE_NUMBER +
             r"|(?:[A-ZÄÖÜ][\wäöüß\-]*\s)(?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Ring|Damm|Ufer|Chaussee)\s+" + DE_NUMBER +
             r"|(?:Am|An der|An den|Im|Auf dem|Auf der|Zum|Zur|In der|Hinter der|Unter den)\s+[A-ZÄÖÜ][\wäöüß\-]+\s+" + DE_NUMBER)
DE_TOWN = r"(?:,?\s*(?:(?:D-)?\d{5})\s+[A-ZÄÖÜ][\wäöüß\-]+(?:\s(?:an der|am|im|in der)\s[A-ZÄÖÜ][\wäöüß]+)?)?"
FR_LINK = r"(?:(?:de la|de l'|de l’|des|du|de|d'|d’|la|le|les|l'|l’|aux|à la|au|et|sur|en)\s*)"
FR_WORD = r"[A-ZÉÈÀÂÎÔÛÇ][\w'’\-éèêëàâîïôûüç]*"
FR_STREET = (r"(?<![\w-])\d{1,4}(?:\s?(?:bis|ter|quater|[A-D])\b)?,?\s+(?i:rue|avenue|av\.|boulevard|bd|place|chemin|allée|"
             r"impasse|quai|route|cours|square|passage|voie|rond-point|faubourg|sentier|villa|cité|résidence|hameau|"
             r"parvis|promenade|esplanade|montée|ruelle|rond point)\s+" + FR_LINK + "*" + FR_WORD +
             r"(?:[\s\-]" + FR_LINK + "*" + FR_WORD + "){0,4}")
FR_TOWN = r"(?:,?\s*(?:\d{5}|\d{2}\s\d{3})\s+[A-ZÉÈ][\w'’\-éèêëàâîïôûüç]+(?:[\s\-](?:sur|sous|en|le|la|les|lès|de|du|Saint|[A-Z][\wé\-]+)){0,3}(?:\s+Cedex(?:\s\d{1,2})?)?)?"
ES_TYPE = (r"Calle|C/|C\.|Pasadizo|Rinconada|Ramal|Senda|Sector|Urbanización|Avenida|Avda\.?|Av\.|Paseo|Plaza|Pza\.?|Camino|Carrera|Ronda|Travesía|Callejón|Glorieta|Vía|"
           r"Urbanización|Urb\.|Pasaje|Rambla|Carretera|Ctra\.|Cuesta|Alameda|Acceso|Cañada|Camiño|Ruela|Rúa|Vial|"
           r"Polígono|Partida|Bajada|Subida|Paseo de|Plazuela|Barrio|Callejón")
ES_LINK = r"(?:(?:de la|de los|de las|del|de|la|el|los|las|y|en|San|Santa)\s+)"
ES_WORD = r"[A-ZÁÉÍÓÚÑ][\wáéíóúñü'’\-]*"
ES_STREET = (r"(?<![\w])(?i:" + ES_TYPE + r")\s*" + ES_LINK + "*" + ES_WORD + r"(?:\s" + ES_LINK + "*" + ES_WORD +
             r"){0,4},?\s*(?:n[º°o]\.?\s*|número\s)?\d{1,4}[A-Z]?\b(?:,?\s*(?:\d{1,2}\s?[º°ª]\s?[A-Z]?|(?i:piso|puerta|bajo|escalera|esc\.|apto\.?|apt\.?|portal)\s*\w{0,3}))*")
ES_TOWN = r"(?:,?\s*\d{5}\s+[A-ZÁÉÍÓÚÑ][\wáéíóúñü'\-]+(?:\s(?:de la|del|de|la|el)?\s?[A-ZÁÉÍÓÚÑ][\wáéíóúñü]+){0,2})?"
HAN = "\u4e00-\u9fff"
ZH_STREET = (rf"(?:[{HAN}]{{2,8}}?(?:省|自治区|特别行政区))?(?:[{HAN}]{{2,6}}?市)?(?:[{HAN}]{{1,6}}?(?:区|县|旗))?"
             rf"(?:[{HAN}]{{1,6}}?(?:镇|乡|街道))?[{HAN}\d]{{1,10}}?(?:路|街|大街|大道|道|巷|胡同|弄|里)"
             rf"\s?[\d一二三四五六七八九十百]{{1,5}}\s?号(?:院)?(?:[{HAN}\d\-]{{0,12}}?(?:室|楼|栋|幢|单元|层|座|号楼))*(?:\s?\d{{6}}(?!\d))?")
ZH_PREFIX = re.compile(r"^(?:我的|我|请|麻烦|帮我|地址|收货|寄到|送到|寄往|送往|发到|住在|住址|现住|搬到|改成|改为|更新为|是|在|为|：|:|\s)+")


class AddressRecognizer(ContextPatternRecognizer):
    ENTITY = "ADDRESS"
    FLAGS = 0
    PATTERNS = (
        (EN_FLAT_FIRST + "?" + EN_STREET + EN_UNIT + EN_TOWN, 0.75),
        (EN_FLAT_STREET + EN_TOWN, 0.75),
        (r"(?<![\w-])\d{1,5}[a-z]?\s+(?:[a-z]+\s+){1,2}(?:street|st|avenue|ave|road|rd|lane|drive|boulevard|way|court|"
         r"close|crescent|place|terrace|square)\b", 0.5),
        (r"\bP\.?\s?O\.?\s?Box\s+\d+\b" + EN_TOWN, 0.7),
        ("(?:" + DE_STREET + ")" + DE_TOWN, 0.75),
        (FR_STREET + FR_TOWN, 0.75),
        (ES_STREET + ES_TOWN, 0.75),
        (ZH_STREET, 0.75),
    )
    CONTEXT = ("address", "live at", "ship to", "deliver to", "Adresse", "Anschrift", "wohne", "adresse",
               "j'habite", "dirección", "domicilio", "vivo en", "地址", "住址", "寄到", "送到")

    def spans(self, text: str):
        for s, e, score in super().spans(text):
            value = text[s:e]
            if value and "\u4e00" <= value[0] <= "\u9fff":
                m = ZH_PREFIX.match(value)
                if m:
                    s += m.end()
            end_trim = len(text[s:e].rstrip(" ,.;"))
            if end_trim > 0:
                yield s, s + end_trim, score


__all__ = ["NameRecognizer", "NameAnswer", "AddressRecognizer", "RecognizerResult"]
