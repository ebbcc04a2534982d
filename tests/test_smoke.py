import pytest

pytestmark = pytest.mark.anyio


async def test_home_page_counts_processes_in_the_empty_catalogue(empty_client):
    response = await empty_client.get("/")
    assert response.status_code == 200
    assert "processi pubblicati" in response.text
