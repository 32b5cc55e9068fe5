"""What a review is: its declarations, tables and vocabularies, typed errors, files written safely."""
