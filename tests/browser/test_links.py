"""Links from a notebook open in the student's browser (issue 15, point 4).

A LocalCluster's dashboard link and the Spark UI link of the ``spark`` card,
as a kernel on the student's server makes them, opened in Chromium: both land
on real pages under /user/<name>/ (the bokeh plots draw; Spark's jobs page
after its redirect), never on 127.0.0.1 or the hub's root.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import Shots, log_in

SETUP = """
from dask.distributed import LocalCluster, Client
from pyspark.sql import SparkSession
cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                       dashboard_address='127.0.0.1:0')
client = Client(cluster)
client.submit(sum, [1, 2]).result()
spark = (SparkSession.builder.master('local[1]')
         .config('spark.ui.showConsoleProgress', 'false').getOrCreate())
spark.range(10).count()
card = get_ipython().display_formatter.formatters['text/html'](spark)
print('DASHBOARD', cluster.dashboard_link)
print('SPARK', card.split('href="', 1)[1].split('"', 1)[0])
"""


def test_dashboard_and_spark_ui_links_open_under_the_students_server(hub, browser):
    student = hub.student("links")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    kernel = None
    try:
        log_in(page, student)
        student.login()  # an API token, for the kernel
        kernel = student.start_kernel()
        out = student.run_code([SETUP], kernel_id=kernel, timeout=240)[0]
        dashboard = re.search(r"^DASHBOARD (\S+)$", out, re.M)[1]
        spark_ui = re.search(r"^SPARK (\S+)$", out, re.M)[1]
        prefix = f"/user/{student.name}/proxy/"
        assert dashboard.startswith(prefix) and dashboard.endswith("/status"), out
        assert spark_ui == f"{prefix}4040/jobs/", out
        shot = Shots(page, "links")

        response = page.goto(hub.url + dashboard)
        assert response is not None and response.status == 200
        expect(page).to_have_title("Dask: Status", timeout=60_000)
        expect(page.locator("canvas").first).to_be_visible(timeout=60_000)
        shot("dask-dashboard")

        response = page.goto(hub.url + spark_ui)
        assert response is not None and response.status == 200
        expect(page.get_by_text("Spark Jobs").first).to_be_visible(timeout=30_000)
        shot("spark-ui")
        # The UI's own links and its root's redirect keep the prefix.
        page.get_by_role("link", name="Executors").first.click()
        page.wait_for_url(f"{hub.url}{prefix}4040/executors/**", timeout=30_000)
        page.goto(f"{hub.url}{prefix}4040/")
        page.wait_for_url(f"{hub.url}{prefix}4040/jobs/**", timeout=30_000)
        expect(page.get_by_text("Spark Jobs").first).to_be_visible(timeout=30_000)
        shot("spark-ui-root")
    finally:
        if kernel:
            student.run_code(["spark.stop(); client.close(); cluster.close()"], kernel_id=kernel)
            student.stop_kernel(kernel)
        context.close()
