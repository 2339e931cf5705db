"""Priority screening: a classifier trained on the decisions so far orders what is left."""
