"""Who the demo data is about: the data subject, two colleagues, a namesake of the subject, and
an application. Both parts of the demo seed (the article-era services and the current API) use
these, so the same person is the same person everywhere.
"""

from __future__ import annotations

from amlctl.emulator.documents import User
from amlctl.emulator.mfe_documents import Actor

SUBJECT = User("8b0c2f4e-0000-4000-8000-000000000042", "Jane Doe")  # the data subject
ALEX = User("8b0c2f4e-0000-4000-8000-000000000007", "Alex Kim")
SAM = User("8b0c2f4e-0000-4000-8000-000000000009", "Sam Patel")
# Another person of the same display name: only an object id tells her from the subject.
NAMESAKE = User("8b0c2f4e-0000-4000-8000-000000000077", "Jane Doe")
# A service principal that deploys models and runs jobs, as systemData names it.
PIPELINE = Actor("mlops-pipeline", "Application")
