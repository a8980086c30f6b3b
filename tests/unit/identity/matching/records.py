"""Records for the matching tests, and a strategy for arbitrary ones."""

from __future__ import annotations

from hypothesis import strategies as st

from baobab.identity.matching import PersonRecord

AMINA = PersonRecord(
    record_id="amina",
    given_name="Amina",
    family_name="Odhiambo",
    other_names="Akinyi",
    birth_date="1990-03-07",
    sex="F",
    location="KE-047-0301",
    phone="+254 712 345 678",
)

NAMES = ["Amina", "Otieno", "Мария", "Γιώργος", "محمد", "José", "Ng'ang'a", "Li", "Bill"]

names = st.sampled_from(NAMES) | st.text(min_size=1, max_size=12)
birth_dates = st.none() | st.dates().map(lambda d: d.isoformat()) | st.integers(1900, 2025).map(str)


@st.composite
def records(draw: st.DrawFn, *, complete: bool = False) -> PersonRecord:
    """Arbitrary records; ``complete`` ones have Latin given and family names and a full date."""
    given: str | None
    family: str | None
    born: str | None
    if complete:
        latin = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10)
        given, family = draw(latin), draw(latin)
        born = draw(st.dates()).isoformat()
    else:
        given, family = draw(st.none() | names), draw(st.none() | names)
        born = draw(birth_dates)
    return PersonRecord(
        record_id=draw(st.text(min_size=1, max_size=8)),
        given_name=given,
        family_name=family,
        other_names=draw(st.none() | names),
        birth_date=born,
        sex=draw(st.none() | st.sampled_from(["F", "M", "X"])),
        location=draw(st.none() | st.sampled_from(["KE-047-0301", "KE-047-0302", "UG-1"])),
        phone=draw(st.none() | st.from_regex(r"\+2547[0-9]{8}", fullmatch=True)),
    )
