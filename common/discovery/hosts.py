"""Where a found page lives: the host classification behind the coverage report (docs/discovery.md "Hosts").

Seed 004 Step 1's checkpoint is the share of results on e-commerce product pages against Pinterest-style social
sites and content farms. A host is matched by its registrable suffix against short curated lists (a subdomain
matches its parent: ``m.aliexpress.com`` is ``aliexpress.com``); a page on an e-commerce host counts as a
*product page* only when its path looks like one (``/dp/``, ``/item/``, ``/product/``, ``/listing/`` ...). A
host the brand registered as a marketplace (``marketplace add --host``) is e-commerce whatever the lists say.
Unknown hosts are ``other``: the report shows them, it does not guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

ECOMMERCE = "ecommerce"
SOCIAL = "social"
IMAGE_HOST = "image_host"
CONTENT_FARM = "content_farm"
OTHER = "other"
CLASSES = (ECOMMERCE, SOCIAL, IMAGE_HOST, CONTENT_FARM, OTHER)

ECOMMERCE_HOSTS = frozenset(
    {
        "amazon.com",
        "amazon.co.uk",
        "amazon.de",
        "amazon.fr",
        "amazon.it",
        "amazon.es",
        "amazon.co.jp",
        "amazon.ca",
        "amazon.com.au",
        "amazon.in",
        "ebay.com",
        "ebay.co.uk",
        "ebay.de",
        "ebay.fr",
        "ebay.it",
        "aliexpress.com",
        "aliexpress.us",
        "alibaba.com",
        "1688.com",
        "taobao.com",
        "tmall.com",
        "jd.com",
        "pinduoduo.com",
        "temu.com",
        "shein.com",
        "wish.com",
        "etsy.com",
        "walmart.com",
        "target.com",
        "rakuten.co.jp",
        "rakuten.com",
        "mercari.com",
        "jp.mercari.com",
        "poshmark.com",
        "depop.com",
        "vinted.com",
        "vinted.fr",
        "vinted.de",
        "grailed.com",
        "stockx.com",
        "goat.com",
        "dhgate.com",
        "made-in-china.com",
        "shopee.com",
        "shopee.sg",
        "shopee.co.id",
        "shopee.com.my",
        "shopee.tw",
        "lazada.com",
        "lazada.sg",
        "tokopedia.com",
        "mercadolibre.com",
        "mercadolivre.com.br",
        "allegro.pl",
        "zalando.de",
        "zalando.com",
        "otto.de",
        "cdiscount.com",
        "bol.com",
        "flipkart.com",
        "myntra.com",
        "farfetch.com",
        "ssense.com",
        "vestiairecollective.com",
        "therealreal.com",
        "bestbuy.com",
        "newegg.com",
        "joom.com",
        "banggood.com",
        "gearbest.com",
        "ozon.ru",
        "wildberries.ru",
        "coupang.com",
        "gmarket.co.kr",
        "noon.com",
        "jumia.com",
        "kaufland.de",
        "fruugo.com",
        "onbuy.com",
    }
)
SOCIAL_HOSTS = frozenset(
    {
        "pinterest.com",
        "pinterest.co.uk",
        "pinterest.de",
        "pinterest.fr",
        "instagram.com",
        "facebook.com",
        "fb.com",
        "twitter.com",
        "x.com",
        "tiktok.com",
        "youtube.com",
        "reddit.com",
        "tumblr.com",
        "weibo.com",
        "xiaohongshu.com",
        "douyin.com",
        "vk.com",
        "threads.net",
        "linkedin.com",
        "snapchat.com",
        "bilibili.com",
        "line.me",
        "telegram.org",
        "t.me",
        "discord.com",
        "quora.com",
        "medium.com",
    }
)
IMAGE_HOSTS = frozenset(
    {
        "pinimg.com",
        "imgur.com",
        "flickr.com",
        "staticflickr.com",
        "googleusercontent.com",
        "ggpht.com",
        "cdninstagram.com",
        "fbcdn.net",
        "twimg.com",
        "redd.it",
        "ibb.co",
        "imgbb.com",
        "postimg.cc",
        "photobucket.com",
        "tinypic.com",
        "imageshack.com",
        "500px.com",
        "smugmug.com",
        "imgix.net",
        "cloudinary.com",
        "wixstatic.com",
        "squarespace-cdn.com",
        "shopify.com",
        "cdn.shopify.com",
        "alicdn.com",
        "ebayimg.com",
        "media-amazon.com",
        "ssl-images-amazon.com",
        "etsystatic.com",
        "gstatic.com",
        "bing.net",
        "wikimedia.org",
    }
)
CONTENT_FARM_HOSTS = frozenset(
    {
        "pngtree.com",
        "pngwing.com",
        "cleanpng.com",
        "kindpng.com",
        "pngitem.com",
        "pngegg.com",
        "freepng.com",
        "pngkey.com",
        "pngfind.com",
        "seekpng.com",
        "stickpng.com",
        "wallpaperaccess.com",
        "wallpapercave.com",
        "wallpaperflare.com",
        "wallpapersafari.com",
        "hdwallpapers.in",
        "freepik.com",
        "vecteezy.com",
        "dreamstime.com",
        "alamy.com",
        "shutterstock.com",
        "istockphoto.com",
        "gettyimages.com",
        "depositphotos.com",
        "123rf.com",
        "stock.adobe.com",
        "pixabay.com",
        "unsplash.com",
        "pexels.com",
        "picclick.com",
        "lyst.com",
        "shopstyle.com",
        "polyvore.com",
        "weheartit.com",
        "picuki.com",
        "imginn.com",
        "scribd.com",
        "slideshare.net",
    }
)
_LISTS = (
    (ECOMMERCE, ECOMMERCE_HOSTS),
    (SOCIAL, SOCIAL_HOSTS),
    (IMAGE_HOST, IMAGE_HOSTS),
    (CONTENT_FARM, CONTENT_FARM_HOSTS),
)
# Product-page paths of the big marketplaces and of common shop software (Shopify /products/, WooCommerce
# /product/, Magento /catalog/product/).
PRODUCT_PATH = re.compile(
    r"/(dp|gp/product|itm|item|items|product|products|p|listing|listings|offer|goods|detail|details|sku|buy)"
    r"(/|-|\.|$)|\.html?$|/i\.\d+\.\d+|item\.(taobao|jd)\.com",
    re.IGNORECASE,
)


def host_of(url: str | None) -> str | None:
    """The lower-case host name of an http(s) URL, without ``www.`` and port; None for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    host = host.rstrip(".").lower()
    return host[4:] if host.startswith("www.") else host


def _suffix_in(host: str, names: Iterable[str]) -> str | None:
    names = frozenset(names)
    labels = host.split(".")
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        if candidate in names:
            return candidate
    return host if host in names else None


def classify_host(host: str | None, registered: Iterable[str] = ()) -> str:
    """The host's class; ``registered`` are the brand's marketplace hosts (always e-commerce)."""
    if not host:
        return OTHER
    if _suffix_in(host, registered):
        return ECOMMERCE
    for cls, names in _LISTS:
        if _suffix_in(host, names):
            return cls
    return OTHER


def is_product_page(url: str | None, host_class: str) -> bool:
    """An e-commerce page whose path looks like one product's page (not a search, shop or home page)."""
    if host_class != ECOMMERCE or not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(
        PRODUCT_PATH.search(parts.path or "") or PRODUCT_PATH.search(parts.netloc + (parts.path or ""))
    )


def registered_marketplace(host: str | None, marketplaces: dict[str, list[str]]) -> str | None:
    """The id of the brand's registered marketplace that owns ``host`` (by its ``hosts``), or None."""
    if not host:
        return None
    for marketplace_id, hosts in sorted(marketplaces.items()):
        if _suffix_in(host, [h.lower().removeprefix("www.") for h in hosts]):
            return marketplace_id
    return None
