"""Supervision in three tiers: campaigns, agency self-checks, county rechecks, the city's random
spot-check draws, findings, rectification and penalties."""
