"""Changing a review's files safely: adding, editing, withdrawing and tidying rows, citing, searching."""
