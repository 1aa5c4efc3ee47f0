"""Offline word lists used by the perturbations: synonym groups, neutral sentences, names, templates.

Synonym groups are hand-curated for English review text: every word in a group can replace every
other without changing the sentiment (groups never mix polarities), so substitution is
label-preserving. Words are lower case; callers restore the original casing.
"""

from __future__ import annotations

SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    # positive evaluations
    ("good", "fine", "decent", "solid"),
    ("great", "terrific", "superb", "excellent"),
    ("wonderful", "marvelous", "splendid", "fabulous"),
    ("beautiful", "lovely", "gorgeous", "exquisite"),
    ("charming", "endearing", "winning", "engaging"),
    ("funny", "hilarious", "amusing", "comical"),
    ("clever", "smart", "ingenious", "shrewd"),
    ("moving", "touching", "poignant", "affecting"),
    ("gripping", "riveting", "compelling", "absorbing"),
    ("delightful", "enjoyable", "pleasing", "agreeable"),
    ("brilliant", "dazzling", "masterful", "outstanding"),
    ("witty", "droll", "sparkling", "quick-witted"),
    ("sharp", "incisive", "keen", "pointed"),
    ("stirring", "rousing", "inspiring", "uplifting"),
    ("fresh", "original", "novel", "inventive"),
    ("entertaining", "diverting", "fun", "likable"),
    ("powerful", "forceful", "potent", "strong"),
    ("impressive", "remarkable", "striking", "notable"),
    ("thoughtful", "considered", "reflective", "intelligent"),
    ("love", "adore", "cherish", "relish"),
    ("enjoy", "savor", "appreciate", "relish"),
    # negative evaluations
    ("bad", "poor", "weak", "lousy"),
    ("terrible", "awful", "dreadful", "atrocious"),
    ("dull", "boring", "monotonous", "uninspired"),
    ("clumsy", "awkward", "inept", "heavy-handed"),
    ("tedious", "wearisome", "laborious", "plodding"),
    ("shallow", "superficial", "thin", "flimsy"),
    ("messy", "muddled", "chaotic", "sloppy"),
    ("lifeless", "listless", "inert", "flat"),
    ("predictable", "formulaic", "routine", "by-the-numbers"),
    ("bland", "insipid", "colorless", "vapid"),
    ("tiresome", "tiring", "exhausting", "draining"),
    ("hollow", "empty", "vacant", "soulless"),
    ("stupid", "dumb", "silly", "idiotic"),
    ("ugly", "unsightly", "hideous", "unattractive"),
    ("annoying", "irritating", "grating", "aggravating"),
    ("pointless", "aimless", "purposeless", "futile"),
    ("mediocre", "middling", "so-so", "undistinguished"),
    ("hate", "loathe", "detest", "despise"),
    ("mess", "muddle", "shambles", "jumble"),
    ("failure", "flop", "misfire", "dud"),
    # intensifiers and hedges (meaning kept, sentiment-neutral)
    ("very", "really", "extremely", "remarkably"),
    ("truly", "genuinely", "honestly", "really"),
    ("ultimately", "finally", "eventually", "in the end"),
    ("quite", "fairly", "reasonably"),
    ("often", "frequently", "regularly", "repeatedly"),
    ("sometimes", "occasionally", "at times", "now and then"),
    ("almost", "nearly", "practically", "virtually"),
    ("completely", "entirely", "wholly", "totally"),
    ("simply", "just", "merely", "purely"),
    ("also", "too", "as well", "likewise"),
    ("perhaps", "maybe", "possibly", "conceivably"),
    # neutral nouns and verbs of the domain
    ("film", "movie", "picture", "feature"),
    ("story", "tale", "narrative", "plot"),
    ("script", "screenplay", "writing", "scenario"),
    ("director", "filmmaker", "helmer", "auteur"),
    ("actor", "performer", "player", "thespian"),
    ("cast", "ensemble", "company", "troupe"),
    ("scene", "sequence", "episode", "segment"),
    ("ending", "finale", "conclusion", "climax"),
    ("beginning", "opening", "start", "outset"),
    ("character", "figure", "role", "persona"),
    ("audience", "viewers", "moviegoers", "spectators"),
    ("music", "score", "soundtrack", "songs"),
    ("dialogue", "lines", "exchanges", "conversation"),
    ("acting", "performances", "playing", "work"),
    ("direction", "staging", "filmmaking", "helming"),
    ("pacing", "tempo", "rhythm", "momentum"),
    ("humor", "comedy", "wit", "jokes"),
    ("drama", "melodrama", "storytelling", "theatrics"),
    ("world", "universe", "setting", "milieu"),
    ("life", "existence", "living", "being"),
    ("man", "guy", "fellow", "gentleman"),
    ("woman", "lady", "female", "gal"),
    ("kid", "child", "youngster", "youth"),
    ("friend", "companion", "pal", "buddy"),
    ("family", "household", "kin", "clan"),
    ("time", "moment", "occasion", "period"),
    ("big", "large", "huge", "massive"),
    ("small", "little", "modest", "minor"),
    ("old", "aging", "elderly", "veteran"),
    ("new", "recent", "latest", "current"),
    ("long", "lengthy", "extended", "drawn-out"),
    ("short", "brief", "compact", "concise"),
    ("fast", "quick", "rapid", "swift"),
    ("slow", "unhurried", "leisurely", "languid"),
    ("hard", "difficult", "tough", "demanding"),
    ("easy", "simple", "effortless", "painless"),
    ("begin", "start", "commence", "open"),
    ("make", "create", "produce", "craft"),
    ("tell", "recount", "relate", "narrate"),
    ("try", "attempt", "strive", "endeavor"),
    ("seem", "appear", "look", "come across"),
    ("feels", "seems", "comes off", "registers"),
    ("watch", "view", "see", "catch"),
    ("find", "discover", "uncover", "locate"),
    ("give", "offer", "provide", "deliver"),
)

NEGATORS = frozenset(
    {"not", "no", "never", "nothing", "none", "nobody", "neither", "nor", "nowhere", "without", "hardly", "barely"}
)

AUXILIARIES = (
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "can",
    "could",
    "will",
    "would",
    "should",
    "does",
    "do",
    "did",
    "might",
    "must",
    "may",
)

# Sentences that say nothing about quality: adding them changes length, not the label.
NEUTRAL_SENTENCES = (
    "The film was released in theaters last year.",
    "It runs for a little under two hours.",
    "The story takes place over several weeks.",
    "Several scenes were shot on location.",
    "The cast includes a number of familiar faces.",
    "It is based on an earlier screenplay.",
    "The credits list a large crew.",
    "Some of the dialogue is in a second language.",
)

FIRST_NAMES = (
    "James", "Maria", "Chen", "Amara", "Lukas", "Priya", "Diego", "Fatima", "Kenji", "Olga",
    "Samuel", "Aisha", "Mateo", "Ingrid", "Ravi", "Noor", "Tomas", "Yara", "Felix", "Leila",
)  # fmt: skip
LAST_NAMES = (
    "Walker", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Haddad", "Kowalski", "Silva", "Novak", "Reyes",
    "Fischer", "Mensah", "Ivanova", "Costa", "Nakamura", "Byrne", "Sato", "Hughes", "Bauer", "Khan",
)  # fmt: skip

# Generator-style tells: stock openings and closings of the kind chat models add.
TEMPLATE_PREFIXES = (
    "Sure! Here is a review:",
    "Review:",
    "Here's my take:",
    "As a film critic, I would say:",
)
TEMPLATE_SUFFIXES = (
    "I hope this review helps!",
    "Overall, that is my review.",
    "Let me know if you want another review.",
    "(End of review.)",
)


def synonym_table() -> dict[str, tuple[str, ...]]:
    """Word -> its substitutes (the other members of every group it belongs to), in a fixed order."""
    table: dict[str, list[str]] = {}
    for group in SYNONYM_GROUPS:
        for word in group:
            if " " in word:
                continue  # multi-word entries are targets only
            subs = table.setdefault(word, [])
            subs.extend(w for w in group if w != word and w not in subs)
    return {w: tuple(s) for w, s in table.items()}
