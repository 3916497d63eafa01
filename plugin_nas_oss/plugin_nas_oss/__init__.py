"""Abonent plugin for NAS / BRAS (Carbon Billing's OSS command set): each billing event
becomes the vendor's RADIUS CoA / Disconnect-Request or a NAPALM change on the NAS the
account is bound to; a RADIUS server authorises and accounts the sessions; an emulator
stands in for the NAS in tests and the demo."""
