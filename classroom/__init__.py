"""Class mode: the class's labelled drawings (store.py) and the teacher's key (teacher.py)."""
