"""Translation strings, split by concept. Each module exports STRINGS = {key: (en, ko)}."""
