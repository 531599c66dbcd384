"""Policy before deploy: built-in rules (`rules.py`, pure), custom rules in Rego (`rego.py`),
and `check(plan, images)` (`check.py`), which `devkit check` and every deploy and promotion run;
`sarif.py` writes a report for code scanning."""
