"""newswatch: transatlantic-security news monitoring.

Every stage of the pipeline lives here as plain, Airflow-free Python: sources (seeds, feeds), normalisation,
validation, deduplication, classification, warehouse loading and the digest. The DAGs in ``dags/`` and the
``newswatch`` CLI both call these functions.
"""

__version__ = "0.1.0"
