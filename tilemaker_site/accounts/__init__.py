"""Accounts: login with GitHub, the grants GitHub membership gives, the User/Group admin."""
