"""Every URL pattern of the project, as data the tests can request (sign-in, fuzzing).

Derived from the URLconf at test time, so a URL added later is covered without editing a list.
"""

from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils.regex_helper import normalize


@dataclass(frozen=True)
class Route:
    key: str  # the qualified name ("admin:index"), or the route itself for an unnamed pattern
    route: str  # as written: "people/<id:user_id>/" (regex parts as their regex)
    callback: object = field(compare=False)
    params: tuple[str, ...]  # the URL's keyword arguments, in order
    converters: dict = field(compare=False)  # param -> converter name ("id", "str", "path", ...; "regex")
    _format: str = field(compare=False)  # "people/%(user_id)s/"

    @property
    def public(self) -> bool:
        """Marked with @login_not_required (LoginRequiredMiddleware lets signed-out people in)."""
        return not getattr(self.callback, "login_required", True)

    @property
    def module(self) -> str:
        return getattr(self.callback, "__module__", "") or ""

    def url(self, **values) -> str:
        return "/" + self._format % {name: values[name] for name in self.params}


def _converter_names(pattern) -> dict:
    if isinstance(pattern, RoutePattern):
        from django.urls.converters import get_converters

        by_class = {type(conv): name for name, conv in get_converters().items()}
        return {param: by_class.get(type(conv), "custom") for param, conv in pattern.converters.items()}
    return {param: "regex" for param in pattern.regex.groupindex}


def _regex_of(pattern) -> str:
    regex = pattern.regex.pattern if isinstance(pattern, (RoutePattern, RegexPattern)) else str(pattern)
    regex = regex.removeprefix("^")
    # An endpoint's route ends with \Z; normalize() does not know it.
    return regex.removesuffix(r"\Z").removesuffix("$")


def _walk(patterns, prefix_route="", prefix_regex="", namespace=None, converters=None):
    converters = converters or {}
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix_route + str(entry.pattern), prefix_regex + _regex_of(entry.pattern),
                             ns, {**converters, **_converter_names(entry.pattern)})
        elif isinstance(entry, URLPattern):
            route = prefix_route + str(entry.pattern)
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            fmt, params = normalize(prefix_regex + _regex_of(entry.pattern))[0]
            yield Route(key=name or route, route=route, callback=entry.callback, params=tuple(params),
                        converters={**converters, **_converter_names(entry.pattern)}, _format=fmt)


def all_routes() -> list[Route]:
    """Every URL pattern, in URLconf order; a key shared by two patterns appears once (the first)."""
    seen, routes = set(), []
    for route in _walk(get_resolver().url_patterns):
        if route.key not in seen:
            seen.add(route.key)
            routes.append(route)
    return routes


def sample_values(route: Route, candidates=("1", "auth", "x", "key-1:abc")) -> dict | None:
    """Values for the route's parameters that make its URL resolve to this very pattern, or None."""
    from django.urls import Resolver404, resolve

    if not route.params:
        return {}
    for candidate in candidates:
        values = dict.fromkeys(route.params, candidate)
        try:
            match = resolve(route.url(**values))
        except Resolver404:
            continue
        # (Django Ninja lists one path once per operation name, all of them one view: the route says.)
        if match.func is route.callback or (route.key.startswith("api-v1:") and match.route == route.route):
            return values
    return None
