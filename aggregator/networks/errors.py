"""What every network adapter raises for an address it cannot follow; the message is for the person."""


class AddressError(ValueError):
    """The text names this network's kind of account but not a usable one, or the account cannot be found."""
