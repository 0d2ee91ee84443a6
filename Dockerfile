# The grading service image: the API (`grader serve`) and the workers (`grader worker`) run from it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY grader ./grader
COPY workers ./workers
COPY migrations ./migrations
COPY problems ./problems
# Editable, so `grader db upgrade` finds migrations/ beside the package.
RUN pip install --no-cache-dir -e . && useradd --create-home grader
USER grader
EXPOSE 8000
CMD ["grader", "serve", "--host", "0.0.0.0"]
