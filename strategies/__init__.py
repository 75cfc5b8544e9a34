"""Reference trading clients for the ``generic`` profile: the systems under test.

``NaiveBot`` has the classic resilience bugs; ``ResilientBot`` does it right. They are
examples for users and the targets of the project's own chaos suite; not installed.
"""
