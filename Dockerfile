# The grading service image: the API (`grader serve`) and the workers (`grader worker`) run from it.
# Dependencies are installed at the versions in constraints.txt; no setting or credential is baked in:
# every GRADER_* variable comes from the environment the container is started with.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY constraints.txt pyproject.toml README.md ./
COPY grader ./grader
COPY workers ./workers
COPY problems ./problems
# A plain (non-editable) install: the migrations ship inside the package.
RUN pip install --no-cache-dir -c constraints.txt . && useradd --create-home grader
USER grader
EXPOSE 8000
CMD ["grader", "serve", "--host", "0.0.0.0"]
