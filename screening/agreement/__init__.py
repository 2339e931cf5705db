"""Inter-rater agreement statistics over (item, rater, rating) triples: pure, no database."""

from screening.agreement.statistics import Rating, agreement, agreement_from_csv

__all__ = ["Rating", "agreement", "agreement_from_csv"]
