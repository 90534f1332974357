"""Known AWS regions and Azure locations, and the EU data-residency allow-lists used by default."""

from __future__ import annotations

# Commercial, GovCloud, China and European Sovereign Cloud regions known to pulumi-aws 7.x
# (`pulumi_aws.Region`); a test keeps this list a subset of the installed SDK's enum.
AWS_REGIONS: frozenset[str] = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1",
        "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2",
        "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1",
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "cn-north-1", "cn-northwest-1",
        "eusc-de-east-1", "us-gov-east-1", "us-gov-west-1",
    }
)  # fmt: skip

# AWS regions located in EU member states. Zurich (eu-central-2) and London (eu-west-2) have
# adequacy decisions but are outside the EU: add them to the allow-list explicitly if wanted.
EU_AWS_REGIONS: tuple[str, ...] = (
    "eu-central-1",  # Frankfurt
    "eu-west-1",  # Ireland
    "eu-west-3",  # Paris
    "eu-north-1",  # Stockholm
    "eu-south-1",  # Milan
    "eu-south-2",  # Spain
    "eusc-de-east-1",  # European Sovereign Cloud, Brandenburg
)

# Azure public-cloud locations (`az account list-locations`, normalized: lower case, no spaces).
AZURE_LOCATIONS: frozenset[str] = frozenset(
    {
        "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "austriaeast",
        "belgiumcentral", "brazilsouth", "brazilsoutheast", "canadacentral", "canadaeast", "centralindia",
        "centralus", "chilecentral", "denmarkeast", "eastasia", "eastus", "eastus2", "francecentral",
        "francesouth", "germanynorth", "germanywestcentral", "indonesiacentral", "israelcentral",
        "italynorth", "japaneast", "japanwest", "jioindiacentral", "jioindiawest", "koreacentral",
        "koreasouth", "malaysiawest", "mexicocentral", "newzealandnorth", "northcentralus", "northeurope",
        "norwayeast", "norwaywest", "polandcentral", "qatarcentral", "southafricanorth",
        "southafricawest", "southcentralus", "southeastasia", "southindia", "spaincentral",
        "swedencentral", "swedensouth", "switzerlandnorth", "switzerlandwest", "uaecentral", "uaenorth",
        "uksouth", "ukwest", "westcentralus", "westeurope", "westindia", "westus", "westus2", "westus3",
    }
)  # fmt: skip

# Azure locations in EU member states.
EU_AZURE_LOCATIONS: tuple[str, ...] = (
    "westeurope",  # Netherlands
    "northeurope",  # Ireland
    "germanywestcentral",
    "germanynorth",
    "francecentral",
    "francesouth",
    "swedencentral",
    "swedensouth",
    "italynorth",
    "polandcentral",
    "spaincentral",
    "austriaeast",
    "belgiumcentral",
    "denmarkeast",
)


def normalize_azure_location(location: str) -> str:
    """Return the canonical form of an Azure location ("West Europe" -> "westeurope")."""
    return location.replace(" ", "").lower()
