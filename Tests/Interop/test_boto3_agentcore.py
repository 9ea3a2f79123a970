"""Interop: boto3's `bedrock-agentcore` client against MockBedrock's InvokeAgentRuntime, over
every runtime fixture (Fixtures/runtimes).

boto3 builds the URL (the ARN percent-encoded in the path, `?qualifier=`), sends the session
header (making one up when none is given, as the model's idempotency token), signs for
`bedrock-agentcore` (MockBedrock verifies the signature in full), and raises its own exception
types from the error responses; the streaming body is read as botocore hands it over.
"""
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
import botocore.config
import botocore.exceptions
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from test_boto3_interop import FIXTURES, KEY_ID, SECRET, endpoint  # noqa: F401 (the endpoint fixture)

RUNTIMES = FIXTURES / "runtimes"
ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/{name}-Ab12Cd34Ef"
STREAMED = sorted(p.stem for p in RUNTIMES.glob("*.json")
                  if not json.loads(p.read_text()).get("httpError") and "fault" not in p.read_text())
MODELED = ["AccessDeniedException", "InternalServerException", "ResourceNotFoundException", "RetryableConflictException",
           "RuntimeClientError", "ServiceQuotaExceededException", "ThrottlingException", "ValidationException"]
STATUS = {"AccessDeniedException": 403, "InternalServerException": 500, "ResourceNotFoundException": 404,
          "RetryableConflictException": 409, "RuntimeClientError": 424, "ServiceQuotaExceededException": 402,
          "ThrottlingException": 429, "ValidationException": 400}


def client(endpoint, read_timeout=30):
    return boto3.client(
        "bedrock-agentcore", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
        config=botocore.config.Config(read_timeout=read_timeout, retries={"total_max_attempts": 1}))


def invoke(endpoint, name, read_timeout=30, **extra):
    arguments = dict(agentRuntimeArn=ARN.format(name=name), payload=json.dumps({"prompt": "Hello"}).encode(),
                     contentType="application/json", accept="text/event-stream, application/json",
                     runtimeSessionId=f"interop-session-{uuid.uuid4()}")
    arguments.update(extra)
    return client(endpoint, read_timeout).invoke_agent_runtime(**arguments)


def expected_body(scenario):
    """The bytes a scenario's steps make: `data: <JSON>` and a blank line per data step, body steps as they are."""
    body = b""
    for step in scenario["steps"]:
        if "data" in step:
            body += b"data: " + json.dumps(step["data"], separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode() + b"\n\n"
        elif "body" in step:
            body += step["body"].encode()
    return body


def sse_data(body):
    """The JSON values of an event stream's data events."""
    values = []
    for block in body.decode().split("\n\n"):
        data = [line[len("data: "):] for line in block.split("\n") if line.startswith("data: ")]
        if data:
            values.append(json.loads("\n".join(data)))
    return values


@pytest.mark.parametrize("name", STREAMED)
def test_runtime_answers(endpoint, name):
    scenario = json.loads((RUNTIMES / f"{name}.json").read_text())
    session = f"interop-session-{uuid.uuid4()}"
    response = invoke(endpoint, name, runtimeSessionId=session, qualifier="DEFAULT")
    assert response["statusCode"] == 200
    assert response["contentType"] == scenario.get("contentType", "text/event-stream")
    assert response["runtimeSessionId"] == session
    body = response["response"].read()
    if response["contentType"] == "text/event-stream":
        assert sse_data(body) == [step["data"] for step in scenario["steps"] if "data" in step]
        # The mock writes JSON as this test's json.dumps does (sorted keys, no spaces, UTF-8).
        assert body == expected_body(scenario)
    else:
        assert body == expected_body(scenario)


def test_the_session_header_is_made_up_by_boto3_when_absent(endpoint):
    response = client(endpoint).invoke_agent_runtime(agentRuntimeArn=ARN.format(name="plain_stream"), payload=b'{"prompt": "Hi"}')
    assert len(response["runtimeSessionId"]) >= 33
    assert sse_data(response["response"].read())[0] == "Plain "


@pytest.mark.parametrize("error", MODELED)
def test_modeled_errors(endpoint, error):
    name = "http_" + "".join("_" + c.lower() if c.isupper() else c for c in error.replace("Exception", "")).lstrip("_")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        invoke(endpoint, name)
    assert raised.value.response["Error"]["Code"] == error
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == STATUS[error]
    # botocore maps the code to the model's exception class.
    assert type(raised.value).__name__ == error


def test_an_unknown_runtime_is_resource_not_found(endpoint):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        invoke(endpoint, "no_such_runtime")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("arguments,problem", [
    ({"agentRuntimeArn": "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/plain_stream"}, "agentRuntimeArn"),
    ({"agentRuntimeArn": "arn:aws:bedrock:us-east-1:123456789012:agent/plain_stream-Ab12Cd34Ef"}, "agentRuntimeArn"),
    ({"qualifier": "not-a-name"}, "qualifier"),
])
def test_invalid_requests_are_validation_errors(endpoint, arguments, problem):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        invoke(endpoint, "plain_stream", **arguments)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert problem in raised.value.response["Error"]["Message"]


def test_a_short_session_id_is_refused_by_boto3_before_sending(endpoint):
    with pytest.raises(botocore.exceptions.ParamValidationError):
        invoke(endpoint, "plain_stream", runtimeSessionId="too-short")


def test_a_signature_for_another_service_is_refused(endpoint):
    """A request signed for `bedrock` (InvokeAgent's scope) sent to InvokeAgentRuntime."""
    url = endpoint + "/runtimes/" + urllib.parse.quote(ARN.format(name="plain_stream"), safe="") + "/invocations"
    request = AWSRequest(method="POST", url=url, data=b"{}", headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(KEY_ID, SECRET), "bedrock", "us-east-1").add_auth(request)
    prepared = request.prepare()
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST"))
    assert raised.value.code == 403
    assert "'bedrock-agentcore'" in raised.value.read().decode()


def test_wrong_secret_is_refused(endpoint):
    wrong = boto3.client("bedrock-agentcore", region_name="us-east-1", endpoint_url=endpoint,
                         aws_access_key_id=KEY_ID, aws_secret_access_key="not-the-secret",
                         config=botocore.config.Config(retries={"total_max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        wrong.invoke_agent_runtime(agentRuntimeArn=ARN.format(name="plain_stream"), payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_dropped_connection_fails_the_read(endpoint):
    response = invoke(endpoint, "drop_stream")
    with pytest.raises(botocore.exceptions.ResponseStreamingError):
        response["response"].read()
