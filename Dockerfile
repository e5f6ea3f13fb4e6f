# The web app: the same Makefile targets as the README (make serve = migrate, collect static files, then gunicorn).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=false REQUIREMENTS=requirements.txt
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-dev.txt Makefile ./
RUN make install
COPY . .

EXPOSE 8000
CMD ["make", "serve", "HOST=0.0.0.0", "PORT=8000"]
