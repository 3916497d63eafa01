"""The emulated operator's offer at SGT (packages grouped by type, as `packageGetAll`
answers), its subnets, and the demo's customers and boxes (names from SGT's manual)."""
from __future__ import annotations

from dataclasses import dataclass

BASIC, ADDITIONAL, GIFT = "basic", "additional", "gift"


@dataclass(frozen=True)
class Package:
    package_id: int
    pkgt_name: str
    pkg_name: str
    pkg_desc: str
    pkg_class: str = BASIC
    #: the monthly gross price SGT bills (billing events)
    gross: str = "0.00"
    pkg_additional_type: str = ""
    pkg_valid_from: str = "2015-01-01"
    pkg_valid_to: str = ""
    pkg_autoinclude: int = 0
    pkg_denied: int = 0

    def view(self) -> dict:
        return {"package_id": self.package_id, "pkg_name": self.pkg_name,
                "pkg_desc": self.pkg_desc, "pkg_tvpanel_desc": self.pkg_desc,
                "pkg_valid_from": self.pkg_valid_from, "pkg_valid_to": self.pkg_valid_to,
                "pkg_autoinclude": self.pkg_autoinclude, "pkg_denied": self.pkg_denied}


_BASIC = "Pakiety podstawowe"
_EXTRA = "Pakiety dodatkowe"
_GIFTS = "Prezenty"

DEFAULT_PACKAGES = [
    Package(101, _BASIC, "Pakiet Wielotematyczny 65",
            "Pakiet Wielotematyczny, umowa na 24 miesiące, abonament 65 zł.", gross="65.00"),
    Package(102, _BASIC, "Pakiet Rodzinny HD",
            "Pakiet Rodzinny HD, umowa na 24 miesiące, abonament 95 zł.", gross="95.00"),
    Package(103, _BASIC, "Pakiet xPlay 54,90",
            "Pakiet Wielotematyczny, umowa na 12 miesięcy, abonament 54,90 zł.", gross="54.90"),
    Package(201, _EXTRA, "HBO", "Pakiet HBO HD.", ADDITIONAL, "19.90", "premium"),
    Package(202, _EXTRA, "Filmbox", "Pakiet Filmbox.", ADDITIONAL, "9.90", "premium"),
    Package(203, _EXTRA, "Eleven Sports", "Pakiet sportowy.", ADDITIONAL, "15.00", "sport"),
    Package(301, _GIFTS, "Prezent Więcej Bajek",
            "Prezent dla Abonenta za przedłużenie umowy. Automatyczna terminacja pakietu po "
            "3 miesiącach.", GIFT),
    Package(302, _GIFTS, "Prezent Więcej Sportu HD",
            "Prezent dla Abonenta za przedłużenie umowy. Automatyczna terminacja pakietu po "
            "3 miesiącach.", GIFT),
    Package(303, _GIFTS, "Prezent Więcej Filmów HD",
            "Prezent dla Abonenta za przedłużenie umowy. Automatyczna terminacja pakietu po "
            "3 miesiącach.", GIFT),
]

DEFAULT_SUBNETS = [("Sieć główna", "10.20.0.0/24"), ("Osiedle Zielone", "10.20.1.0/25")]

DEMO_CUSTOMERS = [
    {"customer": {"cust_name": "Jan", "cust_surname": "Kowalski", "cust_external_id": "",
                  "cust_m_city": "Kraków", "cust_m_postal_code": "30-001",
                  "cust_m_street": "Długa", "cust_m_home_nr": "5", "cust_m_flat": "2",
                  "cust_email": "jan.kowalski@example.pl", "cust_phone1": "600100200",
                  "cust_vod_pin": "1234", "cust_master_pin": "4321"},
     "address": {"cust_i_city": "Kraków", "cust_i_street": "Długa", "cust_i_home_nr": "5",
                 "cust_i_flat": "2", "cust_i_postal_code": "30-001"},
     "package_id": 101, "stb": ("00:1A:2B:3C:4D:01", "SGT0001", "Jambox Ultra HD")},
    {"customer": {"cust_name": "Anna", "cust_surname": "Nowak", "cust_external_id": "",
                  "cust_m_city": "Wieliczka", "cust_m_postal_code": "32-020",
                  "cust_m_street": "Słoneczna", "cust_m_home_nr": "12", "cust_m_flat": "",
                  "cust_email": "anna.nowak@example.pl", "cust_phone1": "600300400",
                  "cust_vod_pin": "5678", "cust_master_pin": "8765"},
     "address": {"cust_i_city": "Wieliczka", "cust_i_street": "Słoneczna",
                 "cust_i_home_nr": "12", "cust_i_flat": "", "cust_i_postal_code": "32-020"},
     "package_id": 102, "stb": None},
]

#: (mac, serial, model, bought from SGT)
DEMO_STOCK = [
    ("00:1A:2B:3C:4D:10", "OPR0010", "Jambox Mini", False),
    ("00:1A:2B:3C:4D:11", "OPR0011", "Jambox Mini", False),
    ("00:1A:2B:3C:4D:12", "SGT0012", "Jambox Ultra HD", True),
]
