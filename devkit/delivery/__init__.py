"""The release engine: deploy, promote, rollback and verify, written against the targets'
capability protocols only."""
