FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data PYTHONPATH=/app
WORKDIR /app
COPY pyproject.toml ./
COPY marketplace ./marketplace
COPY accounts ./accounts
COPY plugins ./plugins
COPY templates ./templates
COPY static ./static
COPY manage.py ./
# The code runs from /app (PYTHONPATH): pip installs the dependencies it declares.
RUN pip install --no-cache-dir . && mkdir -p /data \
    && ENVIRONMENT=production SECRET_KEY=collectstatic-at-build-time-only-not-a-real-key \
       python manage.py collectstatic --noinput
RUN useradd --system --home /app marketplace && chown -R marketplace /data
USER marketplace
EXPOSE 8000
CMD ["uvicorn", "marketplace.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
