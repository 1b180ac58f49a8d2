"""The client's address, as our own reverse proxies saw it.

With ``DJANGO_PROXY_COUNT`` = N reverse proxies in front of the app (README.md,
"Running in production"), each of them appends the address it received the
request from to ``X-Forwarded-For``: nginx with ``$proxy_add_x_forwarded_for``,
Caddy's ``reverse_proxy`` and Apache's ``mod_proxy`` alike. The N-th entry from
the right is the one our outermost proxy wrote: the client's address. Anything
left of it came with the request and proves nothing, so a client cannot pose as
another by sending its own header.

With N = 0, or a header too short or malformed for N proxies (a request that did
not pass our proxies, e.g. a health check on 127.0.0.1), the address is the
socket's, ``REMOTE_ADDR``.

Login lockouts (django-axes, ``AXES_CLIENT_IP_CALLABLE``) and the audit trail
(``werkstatt.middleware.AuditlogMiddleware``) both use this address.
"""

import ipaddress

from django.conf import settings


def client_ip(request):
    """The client's address as text, or None when the request names none we can read."""
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    count = settings.PROXY_COUNT
    if count <= 0:
        return remote
    entries = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(entries) < count:
        return remote
    return _address(entries[-count]) or remote


def _address(text):
    """A normalised IP address from one header entry, or None.

    Proxies write a bare address; some add a port (``203.0.113.5:4711``,
    ``[2001:db8::1]:4711``) or an IPv6 zone (``fe80::1%eth0``). Anything else is
    not an address.
    """
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        # The same client, whether the proxy listens on IPv4 or on a dual-stack socket.
        address = address.ipv4_mapped
    return str(address)
