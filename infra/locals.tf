# The pipeline as data. Names here must match the code: tests/infra checks them against common/topics.py,
# common/settings.py and functions/*/main.py.

locals {
  labels = merge({ app = "counterfeit", managed-by = "terraform" }, var.labels)

  bucket_location    = coalesce(var.bucket_location, var.region)
  firestore_location = coalesce(var.firestore_location, var.region)

  # common/topics.py TOPICS (every topic the code publishes to); each gets "<topic>-dlq".
  topics = [
    "scan-requested",
    "scan-preprocessed",
    "channels-requested",
    "channel-completed",
    "verdict-recorded",
    "discovery-requested", # published by Cloud Scheduler (discovery.tf), read by discover
  ]

  # common/topics.py MAX_DELIVERY_ATTEMPTS: deliveries before Pub/Sub moves a message to its DLQ.
  max_delivery_attempts = 5

  reader = "roles/storage.objectViewer"
  writer = "roles/storage.objectUser" # create + overwrite: a retried step rewrites the same object

  # One entry per directory in functions/. trigger: storage (Eventarc finalize on the candidates bucket),
  # http (called directly), pubsub (push subscriptions from `topics`, dead-lettering into "<topic>-dlq").
  # ingress: Pub/Sub pushes and Eventarc deliveries count as internal traffic; only the webhook, the
  # authenticate function and the review page take requests from outside Google (the review page still
  # requires IAM; the other two check an HMAC signature in code).
  functions = {
    ingest_gcs = {
      description  = "Starts a scan for every image finalized in the candidates bucket."
      trigger      = "storage"
      topics       = []
      publishes    = ["scan-requested"]
      bucket_roles = { candidates = local.reader }
      secrets      = {}
      access       = "private"
      ingress      = "ALLOW_INTERNAL_ONLY"
      memory       = "512Mi"
      timeout      = 60
    }
    ingest_webhook = {
      description  = "Marketplace webhook: HMAC-signed listings in, scan id out."
      trigger      = "http"
      topics       = []
      publishes    = ["scan-requested"]
      bucket_roles = { candidates = local.writer } # stores listing images under _listings/<brand>/
      secrets      = { WEBHOOK_SECRETS = "webhook-secrets" }
      access       = "public" # authenticated in code by HMAC signature, timestamp and replay check
      ingress      = "ALLOW_ALL"
      memory       = "512Mi"
      timeout      = 60
    }
    verdict_api = {
      description  = "Verdict API: a marketplace asks for a listing's verdict and case state (HMAC-signed GET)."
      trigger      = "http"
      topics       = []
      publishes    = []
      bucket_roles = {}
      secrets      = { WEBHOOK_SECRETS = "webhook-secrets" } # verifies the marketplace's signature
      access       = "public"                                # authenticated in code by HMAC signature and timestamp
      ingress      = "ALLOW_ALL"
      memory       = "512Mi"
      timeout      = 30
    }
    preprocess = {
      description  = "Safe decode, working copy, dominant colours, product box."
      trigger      = "pubsub"
      topics       = ["scan-requested"]
      publishes    = ["scan-preprocessed"]
      bucket_roles = { candidates = local.reader, work = local.writer }
      secrets      = {}
      access       = "private"
      ingress      = "ALLOW_INTERNAL_ONLY"
      memory       = "1Gi"
      timeout      = 120
    }
    hash_match = {
      description = "Perceptual hashes against the brand's references; Tier-1 short-circuit or fan-out."
      trigger     = "pubsub"
      topics      = ["scan-preprocessed"]
      publishes   = ["channels-requested", "channel-completed"]
      # work: writes the scan's SIFT pass next to the working copy after the short-circuit (common/pipeline.py)
      bucket_roles = { work = local.writer, references = local.reader }
      secrets      = {}
      access       = "private"
      ingress      = "ALLOW_INTERNAL_ONLY"
      memory       = "1Gi"
      timeout      = 120
    }
    embed = {
      description  = "Visual embedding via the model endpoint, nearest references."
      trigger      = "pubsub"
      topics       = ["channels-requested"]
      publishes    = ["channel-completed"]
      bucket_roles = { work = local.reader, references = local.reader }
      secrets      = {}
      access       = "private"
      ingress      = "ALLOW_INTERNAL_ONLY"
      memory       = "1Gi"
      timeout      = 120
    }
    logo_ocr = {
      description  = "Logo (SIFT), OCR + brand text, colour, barcode signals."
      trigger      = "pubsub"
      topics       = ["channels-requested"]
      publishes    = ["channel-completed"]
      bucket_roles = { work = local.reader, references = local.reader }
      secrets      = {}
      access       = "private"
      ingress      = "ALLOW_INTERNAL_ONLY"
      memory       = "2Gi"
      timeout      = 300
    }
    fuse = {
      description  = "Records each channel in a transaction; writes the verdict exactly once."
      trigger      = "pubsub"
      topics       = ["channel-completed"]
      publishes    = ["verdict-recorded", "channels-requested"] # channels-requested: logo_ocr's second look (OCR)
      bucket_roles = {}
      secrets      = {}
      access       = "private"
      ingress      = "ALLOW_INTERNAL_ONLY"
      memory       = "512Mi"
      timeout      = 60
    }
    evidence = {
      description  = "Evidence bundle per Tier-1 verdict; the marketplace policy's callback (signed URL to the report)."
      trigger      = "pubsub"
      topics       = ["verdict-recorded"]
      publishes    = []
      bucket_roles = { candidates = local.reader, work = local.reader, evidence = local.writer }
      secrets      = { WEBHOOK_SECRETS = "webhook-secrets" } # signs callbacks (common/callbacks.py)
      access       = "private"
      ingress      = "ALLOW_INTERNAL_ONLY"
      memory       = "1Gi"
      timeout      = 300
    }
    cluster = {
      description  = "Joins the listing to the clusters it shares an image, seller or store with (incremental union-find)."
      trigger      = "pubsub"
      topics       = ["verdict-recorded"]
      publishes    = []
      bucket_roles = { work = local.reader } # fingerprints the working copy (PDQ + embedding)
      secrets      = {}
      access       = "private"
      ingress      = "ALLOW_INTERNAL_ONLY"
      memory       = "1Gi"
      timeout      = 120
    }
    dead_letter = {
      description = "Records why a message was dead-lettered on its scan."
      trigger     = "pubsub"
      topics = [
        "scan-requested-dlq",
        "scan-preprocessed-dlq",
        "channels-requested-dlq",
        "channel-completed-dlq",
        "verdict-recorded-dlq",
        "discovery-requested-dlq",
      ]
      publishes    = []
      bucket_roles = {}
      secrets      = {}
      access       = "private"
      ingress      = "ALLOW_INTERNAL_ONLY"
      memory       = "512Mi"
      timeout      = 60
    }
    discover = {
      description = "Scheduled web discovery: Web Detection and keyword image search for opted-in brands; new images start scans."
      trigger     = "pubsub"
      topics      = ["discovery-requested"]
      publishes   = ["scan-requested"]
      # reads the reference copies staged while a brand opts in to Web Detection; stores found images under
      # _listings/<brand>/ like the webhook
      bucket_roles = { references = local.reader, candidates = local.writer }
      secrets      = { BRAVE_SEARCH_API_KEY = "brave-search-api-key" }
      access       = "private"
      ingress      = "ALLOW_INTERNAL_ONLY"
      memory       = "1Gi"
      timeout      = 540 # a sweep's API calls, backoff and image fetches; Pub/Sub's ack deadline caps at 600
    }
    authenticate = {
      description  = "Close-up authentication of a physical item: SPI, texture, stamp vs genuine close-ups."
      trigger      = "http"
      topics       = []
      publishes    = []
      bucket_roles = {}                                      # reads the kit's close-up features from Firestore only
      secrets      = { WEBHOOK_SECRETS = "webhook-secrets" } # signed like the webhook (common/authenticate/http.py)
      access       = "public"                                # authenticated in code by HMAC signature, as the webhook
      ingress      = "ALLOW_ALL"
      memory       = "2Gi" # full-resolution close-ups rectified in memory
      timeout      = 120
    }
    review = {
      description  = "Review page: queue, decisions, enforcement cases and notices; review callbacks."
      trigger      = "http"
      topics       = []
      publishes    = []
      bucket_roles = { candidates = local.reader, work = local.reader, evidence = local.writer } # notices join the bundle
      # REVIEW_TOKENS signs reviewers in; WEBHOOK_SECRETS signs block_listing / release after a decision
      secrets = { REVIEW_TOKENS = "review-tokens", WEBHOOK_SECRETS = "webhook-secrets" }
      access  = "iam" # only var.review_invokers
      ingress = "ALLOW_ALL"
      memory  = "512Mi"
      timeout = 60
    }
  }

  # Settings every function reads (common/settings.py Settings.from_env). Not set on purpose:
  # COUNTERFEIT_HOME (embedded default only), GCP_PROJECT (legacy alias of GOOGLE_CLOUD_PROJECT),
  # COUNTERFEIT_FETCH_ALLOW_PRIVATE (local emulator stack only; production must refuse private addresses),
  # REVIEW_TRUST_IAP / REVIEW_IAP_AUDIENCE (the review page is behind IAM here, not an IAP load balancer).
  base_environment = {
    COUNTERFEIT_BACKEND        = "gcp"
    GOOGLE_CLOUD_PROJECT       = var.project_id
    CANDIDATES_BUCKET          = module.storage.names["candidates"]
    WORK_BUCKET                = module.storage.names["work"]
    REFERENCES_BUCKET          = module.storage.names["references"]
    EVIDENCE_BUCKET            = module.storage.names["evidence"]
    FIRESTORE_DATABASE         = module.firestore.database_id
    COUNTERFEIT_VISION_BACKEND = var.vision_backend
    MAX_IMAGE_BYTES            = tostring(var.max_image_bytes)
    MAX_IMAGE_PIXELS           = tostring(var.max_image_pixels)
  }

  # The model server (common/embedding/server.py) reads gs:// images through the same settings.
  model_environment = {
    COUNTERFEIT_BACKEND  = "gcp"
    GOOGLE_CLOUD_PROJECT = var.project_id
    CANDIDATES_BUCKET    = module.storage.names["candidates"]
    WORK_BUCKET          = module.storage.names["work"]
    REFERENCES_BUCKET    = module.storage.names["references"]
    MAX_IMAGE_BYTES      = tostring(var.max_image_bytes)
    MAX_IMAGE_PIXELS     = tostring(var.max_image_pixels)
  }

  # Settings only some functions need.
  function_environment = {
    embed    = { MODEL_ENDPOINT_URL = module.model_endpoint.url }
    cluster  = { MODEL_ENDPOINT_URL = module.model_endpoint.url } # the listing image's embedding
    evidence = { REVIEW_BASE_URL = var.review_base_url }
    review   = { REVIEW_BASE_URL = var.review_base_url, REVIEW_NAMES = var.review_names_json }
  }

  # Secret ids (prefixed at creation) and what they hold.
  secrets = {
    webhook-secrets = "WEBHOOK_SECRETS: marketplace -> HMAC keys (two during rotation)"
    review-tokens   = "REVIEW_TOKENS: review token -> brands it may see"
    # add a version after apply: gcloud secrets versions add <prefix>-brave-search-api-key --data-file=-
    brave-search-api-key = "BRAVE_SEARCH_API_KEY: Brave Search API subscription token (keyword image discovery)"
  }
}
