"""Reading and checking a review: its tables, library, ledger, releases and book layout, into one Evidence."""
