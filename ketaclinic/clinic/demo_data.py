"""Synthetic people for the demo clinic and for scale tests. Every name is made up and marked synthetic."""

from __future__ import annotations

import random

GIVEN = [
    "Avery", "Jordan", "Riley", "Casey", "Morgan", "Quinn", "Rowan", "Skyler", "Harper", "Emerson", "Finley",
    "Reese", "Sage", "Parker", "Dakota", "Hayden", "Kendall", "Logan", "Marlow", "Noel", "Peyton", "Remy",
    "Sasha", "Tatum", "Blair", "Cameron", "Drew", "Elliot", "Frankie", "Gray", "Jules", "Kai", "Lane",
    "Alex", "Bailey", "Charlie", "Devon", "Eden", "Hollis", "Indigo", "Jamie", "Lennox", "Micah", "Oakley",
]
# Made-up family names, chosen to read as obviously synthetic.
FAMILY = [
    "Sampleton", "Testwood", "Mockridge", "Demoworth", "Synthfield", "Placeholt", "Examplar", "Fictionby",
    "Dummerton", "Protofer", "Specimenn", "Trialbrook", "Pseudonyk", "Madeupson", "Stubbins", "Fixturely",
    "Seedling-Demo", "Mockford", "Testarossa-Demo", "Sandboxer", "Notarealo", "Imaginary", "Inventa",
    "Simulacre", "Fauxhill", "Draftley", "Templeson", "Prototyp", "Mockingale", "Dummitt",
]
# For scale data: syllables that combine into thousands of distinct, obviously made-up family names.
SCALE_HEADS = [
    "Mock", "Test", "Demo", "Sample", "Synth", "Faux", "Proto", "Stub", "Draft", "Seed", "Fixt", "Dumm", "Pseud",
    "Spec", "Trial", "Sand", "Temp", "Place", "Exam", "Fict", "Imag", "Invent", "Simul", "Model", "Pilot",
    "Beta", "Alpha", "Gamma", "Delta", "Sigma", "Omega", "Kappa", "Zeta", "Theta", "Lambda", "Vector", "Matrix",
    "Pixel", "Byte", "Widget", "Gizmo", "Quark", "Proxy", "Cache", "Token", "Buffer", "Kernel", "Socket",
]
SCALE_TAILS = [
    "ton", "wood", "ridge", "worth", "field", "holt", "ley", "by", "erton", "fer", "brook", "son", "bins",
    "ford", "wick", "more", "dale", "hurst", "combe", "stead", "well", "shaw", "croft", "mere", "gate",
    "land", "berg", "stein", "ville", "mont", "ard", "ington", "castle", "bridge", "marsh", "heath",
]
CITIES = [("Boulder", "CO", "80302"), ("Denver", "CO", "80205"), ("Lakewood", "CO", "80226"), ("Golden", "CO", "80401")]
STREETS = ["Sample St", "Example Ave", "Testing Way", "Demo Ct", "Placeholder Rd", "Fixture Ln"]
GENDERS = ["Woman", "Man", "Non-binary", "", ""]


def synthetic_person(rng: random.Random, varied: bool = False) -> dict[str, object]:
    """A made-up person. ``varied`` draws from ~1,700 synthetic family names (scale data)."""
    from datetime import date, timedelta

    given = rng.choice(GIVEN)
    family = rng.choice(SCALE_HEADS) + rng.choice(SCALE_TAILS) if varied else rng.choice(FAMILY)
    sex = rng.choice(["female", "male", "female", "male", "intersex"]) if rng.random() < 0.98 else "unknown"
    dob = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 53))
    city, state, zip_code = rng.choice(CITIES)
    area = rng.choice(["303", "720"])
    return {
        "legal_given_name": given,
        "legal_family_name": family,
        "preferred_name": rng.choice(["", "", "", given[:3]]) if rng.random() < 0.2 else "",
        "date_of_birth": dob,
        "sex_at_birth": sex,
        "gender_identity": rng.choice(GENDERS),
        # 555-01xx numbers are reserved for fiction.
        "phone": f"({area}) 555-01{rng.randrange(0, 100):02d}",
        "email": f"{given.lower()}.{family.lower()}{rng.randrange(10, 99)}@example.invalid",
        "address_line1": f"{rng.randrange(10, 9999)} {rng.choice(STREETS)}",
        "city": city,
        "state": state,
        "postal_code": zip_code,
    }
