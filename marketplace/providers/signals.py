"""What other packages add to an agency's pages without providers knowing them.

``profile_shown`` is sent with the provider when its public profile is rendered; each receiver
returns a dict merged into the template's ``extras`` (engagements adds the latest ratings)."""

from blinker import Namespace

_signals = Namespace()
profile_shown = _signals.signal("provider-profile-shown")


def profile_extras(provider):
    """The receivers' additions for ``provider``'s profile, merged in connection order."""
    extras = {}
    for _receiver, result in profile_shown.send(provider):
        extras.update(result or {})
    return extras
