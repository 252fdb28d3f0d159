"""Insights: where a manager's time goes (efficiency versus effectiveness), what innovation
changed on the team's own deals, and the charts that show it. Also home of the outcome
estimator that the playbook's measured outcomes share."""
