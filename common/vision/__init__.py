"""The logo/OCR channel: logo detection (SIFT), OCR (RapidOCR), brand-text matching, colour, barcodes, SpI."""
