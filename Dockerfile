# Production image: gunicorn serves the web; the same image runs the Celery worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 FACTU_DATA_DIR=/data
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system --home /app factu && mkdir -p /data && chown factu /data
# collectstatic needs settings but no database or real secret.
RUN SECRET_KEY=build-only-not-secret-build-only-not-secret python manage.py collectstatic --noinput
USER factu
EXPOSE 8000
CMD ["gunicorn", "factu.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
