"""Offline checks of the deployment files (run by deploy/lint.sh).

The task definition is validated against botocore's own model of ECS RegisterTaskDefinition (the
shape `aws ecs register-task-definition --cli-input-json` sends), and the properties that the
service depends on are asserted in the task definition, the CloudFormation stack, the compose
file and the Dockerfile: so that the four cannot drift apart from the service or from each other.
"""

import json
import re
from pathlib import Path

import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator

ROOT = Path(__file__).resolve().parents[2]

# The service's environment variables and their defaults (the README's configuration table).
SERVICE_VARIABLES = {
    "AWS_REGION": "us-east-1",
    "DEBUG_MODE": "false",
    "ALLOWED_ORIGINS": "*",
    "PORT": "8000",
    "HOST": "0.0.0.0",
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "text",
    "DEFAULT_AGENT_ALIAS_ID": "TSTALIASID",
    "ALLOWED_AGENT_IDS": "",
    "AGENTCORE_RUNTIMES": "",
    "ALLOWED_AGENT_RUNTIME_ARNS": "",
    "MAX_INPUT_CHARS": "25000",
    "MAX_REQUEST_BYTES": "1048576",
    "MAX_CONCURRENT_STREAMS": "1000",
    "STREAM_FINAL_RESPONSE": "true",
    "UPSTREAM_MAX_ATTEMPTS": "3",
    "CONNECT_TIMEOUT_SECONDS": "5",
    "FIRST_EVENT_TIMEOUT_SECONDS": "120",
    "IDLE_TIMEOUT_SECONDS": "60",
    "STREAM_TIMEOUT_SECONDS": "600",
    "SHUTDOWN_GRACE_SECONDS": "25",
    "HEALTH_IDENTITY_TIMEOUT_SECONDS": "2",
    "KEEP_ALIVE_TIMEOUT_SECONDS": "620",
    "REQUEST_READ_TIMEOUT_SECONDS": "20",
    "HEARTBEAT_SECONDS": "15",
    "PLAYGROUND_ENABLED": "true",
    "USAGE_METERING": "true",
    "AUTH_MODE": "none",
    "PRINCIPAL_MAX_STREAMS": "10",
    "PRINCIPAL_REQUESTS_PER_MINUTE": "120",
}
# Access-control settings without a default, set with the AUTH_MODE that needs them.
JWT_VARIABLES = {"JWT_ISSUER", "JWT_AUDIENCE", "JWT_LEEWAY_SECONDS", "JWT_FORWARD_CLAIMS"}
API_KEY_VARIABLES = {"API_KEYS_FILE"}
# OpenTelemetry, set when the collector runs beside the service (Tracing xray in the stack).
TRACING_VARIABLES = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}
# Optional, without a default.
BUDGET_VARIABLES = {"PRINCIPAL_TOKENS_PER_HOUR"}
# Derived at start from the task's file-descriptor limit (nofile), so not set in the deployment.
DERIVED = {"MAX_CONNECTIONS"}
# Set per deployment rather than left at the default: the region, the frontends, the agents,
# and JSON logs for CloudWatch Logs Insights.
DEPLOYMENT_SPECIFIC = {
    "AWS_REGION", "ALLOWED_ORIGINS", "DEFAULT_AGENT_ALIAS_ID", "ALLOWED_AGENT_IDS", "LOG_FORMAT", "AUTH_MODE", "PLAYGROUND_ENABLED",
}

LOG_GROUP = "/ecs/bedrock-agent-streaming-api"
HEALTHCHECK_COMMAND = ["CMD", "/app/bedrock-agent-streaming", "healthcheck"]
FARGATE_MAX_STOP_TIMEOUT = 120
ALB_MAX_IDLE_TIMEOUT = 4000
# Fargate's task sizes for 0.5 vCPU.
FARGATE_MEMORY_FOR_512_CPU = {"1024", "2048", "3072", "4096"}

# The metrics the alarms may use, and the dimensions each is published with.
KNOWN_METRICS = {
    ("AWS/ECS", "CPUUtilization"): {"ClusterName", "ServiceName"},
    ("AWS/ECS", "MemoryUtilization"): {"ClusterName", "ServiceName"},
    ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"): {"LoadBalancer", "TargetGroup"},
    ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"): {"LoadBalancer"},
    ("AWS/ApplicationELB", "RequestCount"): {"LoadBalancer"},
    ("AWS/ApplicationELB", "UnHealthyHostCount"): {"LoadBalancer", "TargetGroup"},
    ("AWS/ApplicationELB", "HealthyHostCount"): {"LoadBalancer", "TargetGroup"},
}


# ---------------------------------------------------------------------------------------------
# Loading


class CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, !GetAtt, ...) as their long forms."""


def _intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def task_definition():
    return json.loads((ROOT / "deploy/task-definition.json").read_text())


@pytest.fixture(scope="module")
def container(task_definition):
    (container,) = [c for c in task_definition["containerDefinitions"] if c["name"] == "api"]
    return container


@pytest.fixture(scope="module")
def collector(task_definition):
    (collector,) = [c for c in task_definition["containerDefinitions"] if c["name"] == "otel-collector"]
    return collector


@pytest.fixture(scope="module")
def template():
    return yaml.load((ROOT / "deploy/cloudformation.yaml").read_text(), Loader=CloudFormationLoader)


@pytest.fixture(scope="module")
def resources(template):
    return template["Resources"]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile():
    text = (ROOT / "Dockerfile").read_text()
    # Instructions, one per logical line (continuations joined, comments dropped).
    text = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [line.strip() for line in text.splitlines() if line.strip()]


def of_type(resources, type_name):
    return {name: body for name, body in resources.items() if isinstance(body, dict) and body.get("Type") == type_name}


def one_of_type(resources, type_name):
    (body,) = of_type(resources, type_name).values()
    return body


def resolved(value, conditions):
    """`value` with each `Fn::If` taken by `conditions` (condition name -> bool); `AWS::NoValue` dropped."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, then, otherwise = value["Fn::If"]
            return resolved(then if conditions[name] else otherwise, conditions)
        if value == {"Ref": "AWS::NoValue"}:
            return None
        return {key: item for key, item in ((k, resolved(v, conditions)) for k, v in value.items()) if item is not None}
    if isinstance(value, list):
        return [item for item in (resolved(v, conditions) for v in value) if item is not None]
    return value


# The stack's settings of access control, each as the task definition resolves it.
STACK_AUTH_CASES = {
    "none": {"UsesJwt": False, "UsesApiKeys": False},
    "jwt": {"UsesJwt": True, "UsesApiKeys": False},
    "api_key": {"UsesJwt": False, "UsesApiKeys": True},
    "api_key,jwt": {"UsesJwt": True, "UsesApiKeys": True},
}


def stack_task_definition(resources, case="none", tracing=False, budget=False):
    conditions = {**STACK_AUTH_CASES[case], "TracesToXRay": tracing, "HasTokenBudget": budget}
    return resolved(one_of_type(resources, "AWS::ECS::TaskDefinition")["Properties"], conditions)


def stack_container(resources, case="none", tracing=False, budget=False, name="api"):
    (api,) = [c for c in stack_task_definition(resources, case, tracing, budget)["ContainerDefinitions"] if c["Name"] == name]
    return api


def environment(pairs, name_key="name", value_key="value"):
    names = [pair[name_key] for pair in pairs]
    assert len(names) == len(set(names)), f"duplicate variables: {names}"
    return {pair[name_key]: pair[value_key] for pair in pairs}


# ---------------------------------------------------------------------------------------------
# deploy/task-definition.json


def test_task_definition_is_valid_register_task_definition_input(task_definition):
    shape = botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(task_definition, shape)
    assert not report.has_errors(), report.generate_report()


def test_task_definition_is_fargate_awsvpc_512_1024(task_definition):
    assert task_definition["requiresCompatibilities"] == ["FARGATE"]
    assert task_definition["networkMode"] == "awsvpc"
    assert task_definition["cpu"] == "512"
    assert task_definition["memory"] == "1024"
    assert task_definition["memory"] in FARGATE_MEMORY_FOR_512_CPU


def test_task_definition_has_separate_task_and_execution_roles(task_definition):
    arn = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@-]+$")
    assert arn.match(task_definition["taskRoleArn"])
    assert arn.match(task_definition["executionRoleArn"])
    assert task_definition["taskRoleArn"] != task_definition["executionRoleArn"]


def test_container_runs_hardened(container):
    assert container["essential"] is True
    assert container["readonlyRootFilesystem"] is True
    uid, _, gid = container["user"].partition(":")
    assert uid.isdigit() and int(uid) != 0, "the container must run as a numeric non-root user"
    assert gid.isdigit() and int(gid) != 0
    assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]


def test_stop_timeout_outlasts_the_shutdown_grace_period(container):
    grace = int(environment(container["environment"])["SHUTDOWN_GRACE_SECONDS"])
    assert grace < container["stopTimeout"] <= FARGATE_MAX_STOP_TIMEOUT


def test_nofile_ulimit_is_sized_for_many_streams(container):
    (nofile,) = [limit for limit in container["ulimits"] if limit["name"] == "nofile"]
    streams = int(environment(container["environment"])["MAX_CONCURRENT_STREAMS"])
    # Two sockets a stream (the client's and Bedrock's), and room to spare.
    assert nofile["softLimit"] >= 65536 and nofile["hardLimit"] >= nofile["softLimit"]
    assert nofile["softLimit"] >= 4 * streams


def test_logs_go_to_the_log_group_with_awslogs(task_definition, container):
    logging = container["logConfiguration"]
    assert logging["logDriver"] == "awslogs"
    options = logging["options"]
    assert options["awslogs-group"] == LOG_GROUP
    assert options["awslogs-region"] == environment(container["environment"])["AWS_REGION"]
    assert options["awslogs-stream-prefix"]
    # A slow log pipeline must never block a stream's writes.
    assert options["mode"] == "non-blocking"


def test_health_check_runs_the_binary(container):
    check = container["healthCheck"]
    assert check["command"] == HEALTHCHECK_COMMAND
    env = environment(container["environment"])
    assert check["timeout"] > int(env["HEALTH_IDENTITY_TIMEOUT_SECONDS"])


def test_port_mapping_is_the_service_port(container):
    (mapping,) = container["portMappings"]
    port = int(environment(container["environment"])["PORT"])
    assert mapping["containerPort"] == port == 8000
    assert mapping.get("hostPort", port) == port  # awsvpc: the same port or none
    assert mapping["protocol"] == "tcp"


def test_environment_is_the_configuration_table(container):
    env = environment(container["environment"])
    assert set(env) - JWT_VARIABLES - API_KEY_VARIABLES - TRACING_VARIABLES - BUDGET_VARIABLES == set(SERVICE_VARIABLES)
    assert not set(env) & DERIVED
    for name, default in SERVICE_VARIABLES.items():
        if name not in DEPLOYMENT_SPECIFIC:
            assert env[name] == default, f"{name}: {env[name]!r}, the service's default is {default!r}"
    assert env["LOG_FORMAT"] == "json"
    assert env["ALLOWED_ORIGINS"] != "*", "production must name its frontends"
    assert env["ALLOWED_AGENT_IDS"], "production must name its agents"
    assert all(re.fullmatch(r"[0-9a-zA-Z]{1,10}", agent) for agent in env["ALLOWED_AGENT_IDS"].split(","))
    assert re.fullmatch(r"[0-9a-zA-Z]{1,10}", env["DEFAULT_AGENT_ALIAS_ID"])
    # Production authenticates its callers, here with tokens of a Cognito user pool.
    assert env["AUTH_MODE"] == "jwt"
    assert JWT_VARIABLES <= set(env)
    assert env["JWT_ISSUER"].startswith("https://cognito-idp.")


def test_no_credentials_in_the_task_definition(container):
    # The task role provides them (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, set by ECS).
    names = set(environment(container["environment"]))
    assert not names & {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"}
    assert "secrets" not in container


# ---------------------------------------------------------------------------------------------
# deploy/cloudformation.yaml


def test_stack_task_definition_matches_the_json_one(resources, task_definition, container):
    properties = one_of_type(resources, "AWS::ECS::TaskDefinition")["Properties"]
    assert properties["Family"] == task_definition["family"]
    assert properties["RequiresCompatibilities"] == task_definition["requiresCompatibilities"]
    assert properties["NetworkMode"] == task_definition["networkMode"]
    assert (properties["Cpu"], properties["Memory"]) == (task_definition["cpu"], task_definition["memory"])
    api = stack_container(resources, "jwt", tracing=True)
    assert api["Name"] == container["name"]
    assert api["User"] == container["user"]
    assert api["ReadonlyRootFilesystem"] is True
    assert api["StopTimeout"] == container["stopTimeout"]
    assert api["HealthCheck"]["Command"] == HEALTHCHECK_COMMAND
    assert api["Ulimits"] == [
        {"Name": u["name"], "SoftLimit": u["softLimit"], "HardLimit": u["hardLimit"]} for u in container["ulimits"]
    ]
    assert api["LogConfiguration"]["LogDriver"] == "awslogs"
    assert api["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "LogGroup"}
    stack_env = environment(api["Environment"], "Name", "Value")
    json_env = environment(container["environment"])
    assert set(stack_env) == set(json_env)
    # The stack takes these from its parameters.
    parameters = {
        "JWT_ISSUER", "JWT_AUDIENCE", "JWT_FORWARD_CLAIMS", "PRINCIPAL_MAX_STREAMS", "PRINCIPAL_REQUESTS_PER_MINUTE", "PLAYGROUND_ENABLED",
        "AGENTCORE_RUNTIMES", "ALLOWED_AGENT_RUNTIME_ARNS", "OTEL_TRACES_SAMPLER_ARG",
    }
    for name in set(json_env) - DEPLOYMENT_SPECIFIC - parameters:
        assert stack_env[name] == json_env[name], name
    assert stack_env["LOG_FORMAT"] == "json"
    assert stack_env["AWS_REGION"] == {"Ref": "AWS::Region"}


def test_the_playground_is_off_in_production_unless_a_parameter_enables_it(template, resources, container):
    assert environment(container["environment"])["PLAYGROUND_ENABLED"] == "false"
    parameter = template["Parameters"]["PlaygroundEnabled"]
    assert parameter["Default"] == "false" and parameter["AllowedValues"] == ["true", "false"]
    stack_env = environment(stack_container(resources, "jwt")["Environment"], "Name", "Value")
    assert stack_env["PLAYGROUND_ENABLED"] == {"Ref": "PlaygroundEnabled"}


def test_stack_access_control_follows_its_parameters(template, resources):
    parameters = template["Parameters"]
    assert parameters["AuthMode"]["Default"] == "auto"
    assert parameters["PrincipalMaxStreams"]["Default"] == 10
    assert parameters["PrincipalRequestsPerMinute"]["Default"] == 120
    for case, conditions in STACK_AUTH_CASES.items():
        env = environment(stack_container(resources, case)["Environment"], "Name", "Value")
        # AUTH_MODE is the case, and exactly the settings that mode needs are set.
        assert resolved(env["AUTH_MODE"], conditions) == case
        assert (JWT_VARIABLES <= set(env)) == conditions["UsesJwt"]
        assert bool(JWT_VARIABLES & set(env)) == conditions["UsesJwt"]
        assert ("API_KEYS_FILE" in env) == conditions["UsesApiKeys"]
        if conditions["UsesJwt"]:
            assert env["JWT_ISSUER"] == {"Ref": "JwtIssuer"} and env["JWT_AUDIENCE"] == {"Ref": "JwtAudience"}
    # auto: a user pool's issuer means jwt, a secret api_key (the conditions say so).
    conditions = template["Conditions"]
    assert {"Fn::And": [{"Condition": "AuthAuto"}, {"Condition": "HasJwtIssuer"}]} in conditions["UsesJwt"]["Fn::Or"]
    assert {"Fn::And": [{"Condition": "AuthAuto"}, {"Condition": "HasApiKeysSecret"}]} in conditions["UsesApiKeys"]["Fn::Or"]
    assert conditions["HasJwtIssuer"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}]}
    # Each mode that needs a setting refuses a stack without it.
    assert {"TokensNeedAnIssuerAndAudience", "AnIssuerNeedsAnAudience", "ApiKeysNeedASecret"} <= set(template["Rules"])
    # auto never means none: a stack open to anyone must say AuthMode none.
    rule = template["Rules"]["AutoNeedsAnIssuerOrASecret"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "auto"]}


def test_stack_api_keys_come_from_secrets_manager_through_a_checked_file(resources):
    task = stack_task_definition(resources, "api_key")
    containers = {c["Name"]: c for c in task["ContainerDefinitions"]}
    assert set(containers) == {"api-keys", "api"}
    init, api = containers["api-keys"], containers["api"]
    env = environment(api["Environment"], "Name", "Value")
    assert init["Essential"] is False and init["User"] == api["User"] and init["ReadonlyRootFilesystem"] is True
    # The init container checks the secret and writes it where the service reads API_KEYS_FILE.
    command = init["Command"]
    assert command[0] == "install-api-keys"
    assert command[command.index("--to") + 1] == env["API_KEYS_FILE"]
    (secret,) = init["Secrets"]
    assert secret == {"Name": command[command.index("--from-env") + 1], "ValueFrom": {"Ref": "ApiKeysSecretArn"}}
    assert "Secrets" not in api, "the key hashes reach the service as a file, not in its environment"
    assert api["DependsOn"] == [{"ContainerName": "api-keys", "Condition": "SUCCESS"}]
    (volume,) = task["Volumes"]
    mount_dir = env["API_KEYS_FILE"].rsplit("/", 1)[0]
    assert init["MountPoints"] == [{"SourceVolume": volume["Name"], "ContainerPath": mount_dir, "ReadOnly": False}]
    assert api["MountPoints"] == [{"SourceVolume": volume["Name"], "ContainerPath": mount_dir, "ReadOnly": True}]
    # Only the execution role may read the secret, and only with API keys in use; in the role
    # itself, so that no task starts before it may.
    (policy,) = resolved(resources["ExecutionRole"]["Properties"], {"UsesApiKeys": True, "HasApiKeysKmsKey": False})["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue" and statement["Resource"] == {"Ref": "ApiKeysSecretArn"}
    with_kms = resolved(resources["ExecutionRole"]["Properties"], {"UsesApiKeys": True, "HasApiKeysKmsKey": True})["Policies"][0]
    assert [s["Action"] for s in with_kms["PolicyDocument"]["Statement"]] == ["secretsmanager:GetSecretValue", "kms:Decrypt"]
    assert "Policies" not in resolved(resources["ExecutionRole"]["Properties"], {"UsesApiKeys": False, "HasApiKeysKmsKey": False})
    # Without API keys there is neither init container nor volume.
    plain = stack_task_definition(resources, "jwt")
    assert [c["Name"] for c in plain["ContainerDefinitions"]] == ["api"]
    assert "Volumes" not in plain and "DependsOn" not in plain["ContainerDefinitions"][0]


def test_metrics_are_not_served_through_the_load_balancer(resources):
    rule = resources["MetricsNotPublic"]["Properties"]
    assert rule["ListenerArn"] == {"Fn::If": ["HasCertificate", {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]}
    (condition,) = rule["Conditions"]
    assert {"/metrics", "*/metrics"} <= set(condition["PathPatternConfig"]["Values"])
    (action,) = rule["Actions"]
    assert action["Type"] == "fixed-response" and action["FixedResponseConfig"]["StatusCode"] == "404"


def test_image_has_the_api_keys_mount_point_owned_by_the_app_user(dockerfile):
    assert any("install -d -o 10001 -g 10001 -m 0700 /run/api-keys" in line for line in dockerfile)


def test_log_group(resources):
    (log_group,) = of_type(resources, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["LogGroupName"] == LOG_GROUP


def evaluate(value, parameters):
    """The value of the intrinsic functions Fn::Join, Fn::Split and Ref (of a list parameter) in `value`."""
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return parameters[argument]
        if function == "Fn::Join":
            separator, items = argument
            items = evaluate(items, parameters)
            return separator.join(evaluate(item, parameters) if not isinstance(item, str) else item for item in items)
        if function == "Fn::Split":
            separator, text = argument
            return evaluate(text, parameters).split(separator)
    if isinstance(value, list):
        return [evaluate(item, parameters) for item in value]
    return value


def test_task_role_may_only_invoke_the_configured_agent_aliases(template, resources):
    env = environment(stack_container(resources)["Environment"], "Name", "Value")
    # The service invokes exactly the agents and the alias that the policies allow.
    assert env["ALLOWED_AGENT_IDS"] == {"Fn::Join": [",", {"Ref": "AgentIds"}]}
    assert env["DEFAULT_AGENT_ALIAS_ID"] == {"Ref": "AgentAliasId"}
    assert "Fn::ForEach" not in json.dumps(resources["TaskRole"]) and "Policies" not in resources["TaskRole"]["Properties"]
    assert "AWS::LanguageExtensions" in (template["Transform"] if isinstance(template["Transform"], list) else [template["Transform"]])

    ((key, (identifier, collection, body)),) = [(k, v) for k, v in resources.items() if k.startswith("Fn::ForEach::")]
    assert collection == {"Ref": "AgentIds"}
    ((logical_id, policy),) = body.items()
    assert "${" + identifier + "}" in logical_id
    assert policy["Type"] == "AWS::IAM::RolePolicy"
    assert policy["Properties"]["RoleName"] == {"Ref": "TaskRole"}
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] in ("bedrock:InvokeAgent", ["bedrock:InvokeAgent"])
    resource = statement["Resource"]["Fn::Sub"]
    assert resource == (
        "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:agent-alias/${" + identifier + "}/${AgentAliasId}"
    ), "InvokeAgent is authorized on agent-alias/AGENT_ID/ALIAS_ID, not on agent/*"

    # AgentCore Runtimes: exactly the configured ARNs and their endpoints, only when there are any.
    runtimes = resources["InvokeAgentRuntimePolicy"]
    assert runtimes["Condition"] == "HasAgentRuntimes"
    assert template["Conditions"]["HasAgentRuntimes"] == {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "AgentRuntimeArns"}]}, ""]}]}
    (statement,) = runtimes["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "bedrock-agentcore:InvokeAgentRuntime"
    arns = ["arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/a-0123456789", "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/b-0123456789"]
    assert evaluate(statement["Resource"], {"AgentRuntimeArns": arns}) == arns + [arn + "/runtime-endpoint/*" for arn in arns]
    assert env["ALLOWED_AGENT_RUNTIME_ARNS"] == {"Fn::Join": [",", {"Ref": "AgentRuntimeArns"}]}
    assert env["AGENTCORE_RUNTIMES"] == {"Ref": "AgentCoreRuntimes"}
    assert template["Parameters"]["AgentRuntimeArns"]["Default"] == ""

    # Nothing else grants the task role anything, and no IAM statement of the stack uses a wildcard action.
    for name, resource_body in of_type(resources, "AWS::IAM::RolePolicy").items():
        if name in ("InvokeAgentRuntimePolicy", "XRayPolicy"):
            continue
        assert resource_body["Properties"]["RoleName"] != {"Ref": "TaskRole"}, name
    for document in re.findall(r'"Action": ("[^"]*"|\[[^\]]*\])', json.dumps(resources)):
        assert "*" not in document


# ---------------------------------------------------------------------------------------------
# Tracing: the AWS Distro for OpenTelemetry collector beside the service


def collector_config(text):
    return yaml.safe_load(text)


def check_collector_config(config, region):
    # It listens on the task's loopback only, where the service sends its spans...
    assert config["receivers"] == {"otlp": {"protocols": {"http": {"endpoint": "127.0.0.1:4318"}}}}
    # ... and sends them to X-Ray's OTLP endpoint, which takes W3C trace ids as they are, signed
    # with the task role's credentials.
    (name,) = config["exporters"]
    exporter = config["exporters"][name]
    assert name.startswith("otlphttp")
    assert exporter["traces_endpoint"] == f"https://xray.{region}.amazonaws.com/v1/traces"
    assert exporter["auth"] == {"authenticator": "sigv4auth"}
    assert config["extensions"]["sigv4auth"] == {"region": region, "service": "xray"}
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline == {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"], "exporters": [name]}
    assert set(config["service"]["pipelines"]) == {"traces"}, "only traces: metrics stay Prometheus'"
    assert set(config["service"]["extensions"]) == {"health_check", "sigv4auth"}
    assert config["processors"]["memory_limiter"]["limit_mib"] < 256


def test_the_collector_sidecar_sends_the_services_spans_to_xray(container, collector):
    env = environment(container["environment"])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert env["OTEL_SERVICE_NAME"] == "bedrock-agent-streaming"
    # Sampled by trace id: a caller's traceparent cannot ask for every request to be traced.
    assert env["OTEL_TRACES_SAMPLER"] == "traceidratio"
    assert 0 < float(env["OTEL_TRACES_SAMPLER_ARG"]) <= 1
    assert container["dependsOn"] == [{"containerName": "otel-collector", "condition": "START"}]
    # Losing the collector loses spans, not the service.
    assert collector["essential"] is False
    name, _, tag = collector["image"].partition(":")
    assert name == "public.ecr.aws/aws-observability/aws-otel-collector" and tag.startswith("v") and tag != "latest"
    assert collector["readonlyRootFilesystem"] is True and collector["user"] == container["user"]
    assert collector["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert collector["command"] == ["--config=env:ADOT_CONFIG"]
    config = collector_config(environment(collector["environment"])["ADOT_CONFIG"])
    check_collector_config(config, env["AWS_REGION"])
    assert collector["healthCheck"]["command"] == ["CMD", "/healthcheck"]
    assert collector["logConfiguration"]["options"]["awslogs-group"] == LOG_GROUP
    assert collector["logConfiguration"]["options"]["mode"] == "non-blocking"


def test_stack_tracing_follows_its_parameter(template, resources, task_definition, collector):
    parameters = template["Parameters"]
    assert parameters["Tracing"]["Default"] == "off" and parameters["Tracing"]["AllowedValues"] == ["off", "xray"]
    assert template["Conditions"]["TracesToXRay"] == {"Fn::Equals": [{"Ref": "Tracing"}, "xray"]}
    sample = re.compile(parameters["TraceSampleRatio"]["AllowedPattern"])
    assert all(sample.match(v) for v in ["0", "0.1", "1", "1.0"]) and not any(sample.match(v) for v in ["1.5", "-0.1", "x", ""])
    assert parameters["CollectorImage"]["Default"] == collector["image"]
    image = re.compile(parameters["CollectorImage"]["AllowedPattern"])
    assert image.match(collector["image"]) and not image.match("public.ecr.aws/aws-observability/aws-otel-collector:latest")

    # Off: one container, no OTEL_* variable, no X-Ray permission.
    off = stack_task_definition(resources, "jwt", tracing=False)
    assert [c["Name"] for c in off["ContainerDefinitions"]] == ["api"]
    env = environment(off["ContainerDefinitions"][0]["Environment"], "Name", "Value")
    assert not set(env) & TRACING_VARIABLES
    assert resources["XRayPolicy"]["Condition"] == "TracesToXRay"

    # xray: the collector as in deploy/task-definition.json, with the stack's region.
    on = stack_task_definition(resources, "jwt", tracing=True)
    containers = {c["Name"]: c for c in on["ContainerDefinitions"]}
    assert set(containers) == {"api", "otel-collector"}
    sidecar, api = containers["otel-collector"], containers["api"]
    assert sidecar["Image"] == {"Ref": "CollectorImage"}
    assert sidecar["Essential"] is False and sidecar["User"] == api["User"] and sidecar["ReadonlyRootFilesystem"] is True
    assert sidecar["Command"] == collector["command"] and sidecar["Memory"] == collector["memory"]
    stack_config = environment(sidecar["Environment"], "Name", "Value")["ADOT_CONFIG"]["Fn::Sub"]
    json_config = environment(collector["environment"])["ADOT_CONFIG"]
    assert stack_config.replace("${AWS::Region}", "us-east-1") == json_config
    check_collector_config(collector_config(stack_config.replace("${AWS::Region}", "eu-west-1")), "eu-west-1")
    assert api["DependsOn"] == [{"ContainerName": "otel-collector", "Condition": "START"}]
    env = environment(api["Environment"], "Name", "Value")
    assert env["OTEL_TRACES_SAMPLER_ARG"] == {"Ref": "TraceSampleRatio"}
    (statement,) = resources["XRayPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "xray:PutTraceSegments"
    assert resources["XRayPolicy"]["Properties"]["RoleName"] == {"Ref": "TaskRole"}
    # With API keys too, the service waits for both.
    both = stack_container(resources, "api_key", tracing=True)
    assert both["DependsOn"] == [
        {"ContainerName": "api-keys", "Condition": "SUCCESS"}, {"ContainerName": "otel-collector", "Condition": "START"},
    ]


def test_stack_token_budget_follows_its_parameter(template, resources):
    parameter = template["Parameters"]["PrincipalTokensPerHour"]
    assert parameter["Default"] == 0 and parameter["MinValue"] == 0
    assert template["Conditions"]["HasTokenBudget"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PrincipalTokensPerHour"}, 0]}]}
    assert "PRINCIPAL_TOKENS_PER_HOUR" not in environment(stack_container(resources, "jwt")["Environment"], "Name", "Value")
    env = environment(stack_container(resources, "jwt", budget=True)["Environment"], "Name", "Value")
    assert env["PRINCIPAL_TOKENS_PER_HOUR"] == {"Ref": "PrincipalTokensPerHour"}
    # The service refuses a budget without principals: so does the stack.
    rule = template["Rules"]["TokenBudgetsNeedPrincipals"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AuthMode"}, "none"]}]}


def test_load_balancer_idle_timeout_outlasts_silent_streams(template, resources):
    load_balancer = one_of_type(resources, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    attributes = {a["Key"]: a["Value"] for a in load_balancer["LoadBalancerAttributes"]}
    idle = attributes["idle_timeout.timeout_seconds"]
    parameter = template["Parameters"][idle["Ref"]]
    env = environment(stack_container(resources)["Environment"], "Name", "Value")
    longest_silence = max(int(env["FIRST_EVENT_TIMEOUT_SECONDS"]), int(env["IDLE_TIMEOUT_SECONDS"]))
    assert longest_silence == 120
    assert parameter["MinValue"] > longest_silence
    assert parameter["MinValue"] <= int(parameter["Default"]) <= parameter["MaxValue"] <= ALB_MAX_IDLE_TIMEOUT
    # The load balancer closes idle connections before the service does, never sending a request
    # on a connection the service is closing.
    assert parameter["MaxValue"] < int(env["KEEP_ALIVE_TIMEOUT_SECONDS"])


def test_target_group_health_check(resources):
    target_group = one_of_type(resources, "AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    assert target_group["TargetType"] == "ip"  # awsvpc tasks register by IP
    assert target_group["Port"] == 8000
    assert target_group["HealthCheckPath"] == "/health"
    assert target_group["HealthCheckIntervalSeconds"] == 30
    assert target_group["HealthCheckTimeoutSeconds"] == 5
    assert target_group["HealthyThresholdCount"] == 2
    assert target_group["UnhealthyThresholdCount"] == 3
    assert target_group["Matcher"] == {"HttpCode": "200"}


def test_service_deployment(resources):
    service = one_of_type(resources, "AWS::ECS::Service")["Properties"]
    assert service["LaunchType"] == "FARGATE"
    assert service["DesiredCount"] == 2
    deployment = service["DeploymentConfiguration"]
    assert (deployment["MaximumPercent"], deployment["MinimumHealthyPercent"]) == (200, 50)
    (balancer,) = service["LoadBalancers"]
    assert (balancer["ContainerName"], balancer["ContainerPort"]) == ("api", 8000)


def test_autoscaling_2_to_10_on_cpu_70(resources):
    target = one_of_type(resources, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    assert target["ResourceId"] == {"Fn::Sub": "service/${Cluster}/${Service.Name}"}
    policy = one_of_type(resources, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert tracking["TargetValue"] == 70


def _metric_stats(alarm):
    """(namespace, metric, dimension names, period) of each metric an alarm reads."""
    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], {d["Name"] for d in alarm["Dimensions"]}, alarm["Period"])]
    return [
        (
            m["MetricStat"]["Metric"]["Namespace"],
            m["MetricStat"]["Metric"]["MetricName"],
            {d["Name"] for d in m["MetricStat"]["Metric"]["Dimensions"]},
            m["MetricStat"]["Period"],
        )
        for m in alarm["Metrics"]
        if "MetricStat" in m
    ]


def _alarm_reading(resources, metric_name):
    found = [
        alarm["Properties"]
        for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if any(metric == metric_name for _, metric, _, _ in _metric_stats(alarm["Properties"]))
    ]
    assert len(found) == 1, f"one alarm on {metric_name}"
    return found[0]


def _window_seconds(alarm):
    (period,) = {period for _, _, _, period in _metric_stats(alarm)}
    assert alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"]) == alarm["EvaluationPeriods"]
    return period * alarm["EvaluationPeriods"]


def test_alarm_metrics_exist_with_their_dimensions(resources):
    for name, alarm in of_type(resources, "AWS::CloudWatch::Alarm").items():
        for namespace, metric, dimensions, _ in _metric_stats(alarm["Properties"]):
            assert (namespace, metric) in KNOWN_METRICS, f"{name}: unknown metric {namespace} {metric}"
            assert dimensions == KNOWN_METRICS[(namespace, metric)], f"{name}: {metric} dimensions {dimensions}"
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_cpu_alarm_over_80_percent_for_5_minutes(resources):
    alarm = _alarm_reading(resources, "CPUUtilization")
    assert alarm["Namespace"] == "AWS/ECS" and alarm["Statistic"] == "Average"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (80, "GreaterThanThreshold")
    assert _window_seconds(alarm) == 300


def test_memory_alarm_over_90_percent_for_5_minutes(resources):
    alarm = _alarm_reading(resources, "MemoryUtilization")
    assert alarm["Namespace"] == "AWS/ECS" and alarm["Statistic"] == "Average"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (90, "GreaterThanThreshold")
    assert _window_seconds(alarm) == 300


def test_5xx_rate_alarm_over_5_percent_for_2_minutes(resources):
    alarm = _alarm_reading(resources, "HTTPCode_Target_5XX_Count")
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    (expression,) = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["ReturnData"] is True
    assert all(m["ReturnData"] is False for m in metrics.values() if m is not expression)
    by_name = {m["MetricStat"]["Metric"]["MetricName"]: i for i, m in metrics.items() if "MetricStat" in m}
    assert {"HTTPCode_Target_5XX_Count", "RequestCount"} <= set(by_name)
    assert all(m["MetricStat"]["Stat"] == "Sum" for m in metrics.values() if "MetricStat" in m)
    # A percentage: 100 * errors / requests, every metric it reads being one of the alarm's.
    text = expression["Expression"]
    assert "100" in text and f"/ {by_name['RequestCount']}" in text
    assert set(re.findall(r"\b[a-z][A-Za-z0-9_]*\b", text)) - {"IF", "FILL"} <= set(metrics)
    assert by_name["HTTPCode_Target_5XX_Count"] in text
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (5, "GreaterThanThreshold")
    assert _window_seconds(alarm) == 120


def test_unhealthy_hosts_alarm(resources):
    alarm = _alarm_reading(resources, "UnHealthyHostCount")
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["Statistic"] == "Maximum"


# ---------------------------------------------------------------------------------------------
# docker-compose.yml


def test_compose_wires_the_service_to_mockbedrock(compose):
    api, mock = compose["services"]["api"], compose["services"]["mockbedrock"]
    assert mock["entrypoint"] == ["/app/MockBedrock"]
    assert api["image"] == mock["image"]
    api_env, mock_env = api["environment"], mock["environment"]
    assert api_env["AWS_ENDPOINT_URL"] == f"http://mockbedrock:{mock_env['MOCK_BEDROCK_PORT']}" == "http://mockbedrock:4566"
    assert api_env["AWS_REGION"] == mock_env["MOCK_BEDROCK_REGION"] == "us-east-1"
    assert api_env["AWS_ACCESS_KEY_ID"] == mock_env["MOCK_BEDROCK_ACCESS_KEY_ID"] == "AKIDMOCKBEDROCK"
    assert api_env["AWS_SECRET_ACCESS_KEY"] == mock_env["MOCK_BEDROCK_SECRET_ACCESS_KEY"] == "mock-bedrock-secret"
    assert mock_env["MOCK_BEDROCK_HOST"] == "0.0.0.0"
    assert mock_env["MOCK_BEDROCK_FIXTURES"] == "/app/Fixtures"
    assert api["depends_on"]["mockbedrock"]["condition"] == "service_healthy"
    assert "8000:8000" in api["ports"] and "4566:4566" in mock["ports"]


def test_compose_can_run_a_collector_for_the_services_spans(compose):
    api, collector = compose["services"]["api"], compose["services"]["otel-collector"]
    # Off unless asked: the variable is empty by default, and the collector only in its profile.
    assert api["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"
    assert collector["profiles"] == ["tracing"]
    name, _, tag = collector["image"].partition(":")
    assert tag and tag != "latest"
    (mount,) = collector["configs"]
    config = yaml.safe_load(compose["configs"][mount["source"]]["content"])
    assert collector["command"] == [f"--config={mount['target']}"]
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert config["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]
    assert "4318:4318" in collector["ports"]


def test_compose_health_checks_and_shutdown(compose):
    api, mock = compose["services"]["api"], compose["services"]["mockbedrock"]
    assert api["healthcheck"]["test"] == HEALTHCHECK_COMMAND
    # MockBedrock must not inherit the image's check of the service's port.
    assert "/_mock/stats" in " ".join(mock["healthcheck"]["test"])
    grace = int(api["environment"].get("SHUTDOWN_GRACE_SECONDS", SERVICE_VARIABLES["SHUTDOWN_GRACE_SECONDS"]))
    assert int(api["stop_grace_period"].rstrip("s")) > grace
    assert api["ulimits"]["nofile"]["soft"] >= 65536


# ---------------------------------------------------------------------------------------------
# Dockerfile


def _instructions(dockerfile, keyword):
    return [line.split(None, 1)[1] for line in dockerfile if line.split(None, 1)[0].upper() == keyword]


def test_dockerfile_base_images_are_pinned(dockerfile):
    images = [args.split()[0] for args in _instructions(dockerfile, "FROM")]
    assert len(images) == 2, "a build stage and a runtime stage"
    for image in images:
        name, _, tag = image.partition(":")
        assert tag and tag != "latest", image
    assert images[0].startswith("swift:")


def test_dockerfile_builds_both_products_statically(dockerfile):
    builds = " ".join(_instructions(dockerfile, "RUN"))
    for product in ("bedrock-agent-streaming", "MockBedrock"):
        assert re.search(rf"swift build -c release --static-swift-stdlib --product {product}\b", builds), product
    copies = " ".join(_instructions(dockerfile, "COPY"))
    for source in ("Package.swift", "Sources", "Fixtures"):
        assert source in copies


def test_dockerfile_runtime_stage(dockerfile):
    runtime = dockerfile[max(i for i, line in enumerate(dockerfile) if line.upper().startswith("FROM ")) :]
    (user,) = _instructions(runtime, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    assert _instructions(runtime, "WORKDIR") == ["/app"]
    assert _instructions(runtime, "EXPOSE") == ["8000"]
    assert _instructions(runtime, "STOPSIGNAL") == ["SIGTERM"]
    (healthcheck,) = _instructions(runtime, "HEALTHCHECK")
    assert healthcheck.endswith('CMD ["/app/bedrock-agent-streaming", "healthcheck"]')
    assert _instructions(runtime, "ENTRYPOINT") == ['["/app/bedrock-agent-streaming"]']
    copies = " ".join(_instructions(runtime, "COPY"))
    assert "/app/Fixtures" in copies and "MockBedrock" in copies
    packages = " ".join(_instructions(runtime, "RUN"))
    for package in ("ca-certificates", "libssl3", "libxml2", "zlib1g"):
        assert re.search(rf"\b{re.escape(package)}\b", packages), package
