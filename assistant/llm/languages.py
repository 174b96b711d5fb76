"""The workspace languages (workspaces.models.Language, PostgreSQL's text-search
configurations) as ISO 639-1 codes: what the language identifier and text2num name them."""

LANGUAGE_CODES = {
    "english": "en", "french": "fr", "german": "de", "spanish": "es", "portuguese": "pt",
    "italian": "it", "dutch": "nl",
}  # fmt: skip
