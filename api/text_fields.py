"""The one pattern for free text in request bodies (reasons, notes, spoken texts): some text besides white space."""

from __future__ import annotations

# The schema's pattern is run by three regex engines that disagree on what \s is: pydantic's (Rust: Unicode
# White_Space, with U+0085), a client's or schemathesis' (ECMAScript: with U+FEFF, without U+0085) and Python's
# str.strip behind the API (with the separators U+001C-U+001F). So the class is written out as the union of the three,
# with the characters themselves rather than escapes, which every engine reads alike: a text the schema accepts is
# never refused and a text that is only white space to any of them is refused by all.
WHITE_SPACE = (
    "\t\n\v\f\r \x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
SOME_TEXT = "[^" + WHITE_SPACE + "]"
