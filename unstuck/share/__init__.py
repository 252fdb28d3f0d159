"""Share: the team playbook with measured outcomes, news filtered downward into a weekly
digest, and the cross-functional bench."""
