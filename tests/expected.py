"""What the issues' acceptance points name, written once for every test that checks them."""

# Issue 3: D3FEND's own countermeasures of T1204.001 on D3FEND 1.2.0 (source form), alphabetical.
T1204_001_COUNTERMEASURES = (
    "Client-server Payload Profiling",
    "Homoglyph Detection",
    "Identifier Activity Analysis",
    "Network Traffic Community Deviation",
    "Network Traffic Filtering",
    "Network Traffic Signature Analysis",
    "Outbound Traffic Filtering",
    "Per Host Download-Upload Ratio Analysis",
    "Protocol Metadata Anomaly Detection",
    "Relay Pattern Analysis",
    "Remote Terminal Session Detection",
    "URL Analysis",
    "URL Reputation Analysis",
    "User Geolocation Logon Pattern Analysis",
)
