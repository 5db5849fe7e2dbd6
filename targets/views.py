from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from .models import Area, Resolution, Target


def home(request):
    """The resolution with its indicators and targets, grouped by area."""
    resolutions = list(Resolution.objects.select_related("commune"))
    if not resolutions:
        return render(request, "targets/home.html", {"resolution": None})
    chosen = request.GET.get("nq", "")
    if chosen:
        if not chosen.isdigit():
            raise Http404("Không có nghị quyết này.")
        resolution = get_object_or_404(Resolution, pk=chosen)
    else:
        resolution = resolutions[0]
    indicators = resolution.indicators.prefetch_related(
        Prefetch("targets", queryset=Target.objects.order_by("order", "code"))
    )
    areas = [
        (label, [i for i in indicators if i.area == value])
        for value, label in Area.choices
    ]
    return render(
        request,
        "targets/home.html",
        {
            "resolution": resolution,
            "resolutions": resolutions,
            "areas": areas,
            "target_count": sum(len(i.targets.all()) for i in indicators),
            "tasks": resolution.tasks.all(),
        },
    )
