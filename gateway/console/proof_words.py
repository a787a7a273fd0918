"""The verifier's words in French, for the « Preuve » page.

``trust`` reports in English (``sceau verify``, the auditors' texts) and must stay so;
the console translates what it shows to agents: every section name the bundle verifier
can produce (:func:`trust.bundle_verify.verify_bundle`), the check names, and the known
reasons and warnings, by exact text or by pattern. Text it does not know is kept as is
and marked English (``Words.french`` false: the page wraps it in ``<span lang="en">``),
never guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Words:
    """A piece of text for the page, and whether it is French (else English, as is)."""

    text: str
    french: bool = True


# Every section of trust.bundle_verify (and trust.bundle_dossier's "sender seal").
SECTIONS = {
    "container": "Conteneur ASiC-E",
    "structure": "Structure du paquet",
    "files": "Fichiers du dossier",
    "seal": "Sceau du paquet de preuve",
    "manifest": "Manifeste du dossier",
    "sender seal": "Sceau de l'expéditeur",
    "checkpoint": "Point de contrôle du journal",
    "witness": "Contreseing du hub",
    "journal": "Entrées du journal",
    "time-stamp": "Horodatage",
}

# Check names (trust/bundle_verify.py, seal.py, tsp_verify.py, pki.py, checkpoint.py).
_CHECKS = {
    "ASiC-E container": "conteneur ASiC-E",
    "bundle structure": "structure du paquet",
    "signature reference": "référence de la signature",
    "journal key": "clé du journal",
    "witness cosignature": "contreseing du témoin",
    "entries and proofs": "entrées et preuves",
    "manifest journaled": "manifeste inscrit au journal",
    "inclusion proofs": "preuves d'inclusion",
    "structure": "structure",
    "detached id-data content": "contenu détaché",
    "content-type": "type de contenu",
    "message-digest": "empreinte du contenu",
    "signing-time": "date de signature",
    "signer certificate": "certificat du signataire",
    "signing-certificate-v2": "certificat de signature",
    "signature": "signature",
    "chain": "chaîne de certification",
    "chain to a trust anchor": "chaîne jusqu'à une autorité de confiance",
    "trust anchor": "autorité de confiance",
    "validity period": "période de validité",
    "issuer is a CA": "émetteur autorité de certification",
    "key usage": "usage de la clé",
    "extended key usage": "usage étendu de la clé",
    "certificate is readable": "certificat lisible",
    "note is well-formed": "note bien formée",
    "signed by a trusted key": "signé par une clé de confiance",
    "status": "statut",
    "nonce": "nonce",
    "policy": "politique",
    "extensions": "extensions",
    "TSA certificate": "certificat de l'autorité d'horodatage",
    "certificate included": "certificat inclus",
    "TSA name": "nom de l'autorité d'horodatage",
    "TSA certificate purpose": "usage du certificat d'horodatage",
    "TSA extended key usage is critical and sole": "usage étendu d'horodatage critique et unique",
    "token structure": "structure du jeton",
    "message imprint": "empreinte horodatée",
    "signed attributes": "attributs signés",
    "content-type attribute": "attribut type de contenu",
    "message-digest attribute": "attribut empreinte",
    "signing certificate attribute": "attribut certificat de signature",
}
_CHECK_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"attachment (.+)"), lambda m: f"pièce « {m[1]} »"),
    (re.compile(r"file (.+)"), lambda m: f"fichier « {m[1]} »"),
    (re.compile(r"entry (\d+) \((.+)\)"), lambda m: f"entrée {m[1]} ({m[2]})"),
    (re.compile(r"entry (\d+)"), lambda m: f"entrée {m[1]}"),
    (re.compile(r"Ed25519 cosignature v1 signature by (.+)"), lambda m: f"contreseing de {m[1]}"),
    (re.compile(r"Ed25519 signature by (.+)"), lambda m: f"signature de {m[1]}"),
    (re.compile(r"signature by (.+)"), lambda m: f"signature de {m[1]}"),
    # A data file of the bundle is named by its path (no spaces).
    (re.compile(r"([^\s]+[./][^\s]+)"), lambda m: f"fichier « {m[1]} »"),
)

_UNTRUSTED = "non vérifié : le point de contrôle n'a pas pu être validé"
# Reasons, by exact text.
_REASONS = {
    "SHA-256 differs from the ASiC manifest: the file was altered": (
        "l'empreinte SHA-256 diffère de celle du manifeste ASiC : le fichier a été modifié"
    ),
    "referenced by the ASiC manifest but missing or not a data file": (
        "cité par le manifeste ASiC mais absent du paquet"
    ),
    "present in the bundle but not covered by the seal": (
        "présent dans le paquet mais non couvert par le sceau"
    ),
    "listed in manifest.json but absent from the sealed ASiC manifest or with another digest": (
        "listé dans le manifeste du dossier mais absent du manifeste scellé, ou avec une "
        "autre empreinte"
    ),
    "sealed but not listed in manifest.json": "scellé mais absent du manifeste du dossier",
    "in delivery.json but not in manifest.json": (
        "cité dans delivery.json mais absent du manifeste du dossier"
    ),
    "delivery.json's digest or size differs from manifest.json": (
        "l'empreinte ou la taille dans delivery.json diffère du manifeste du dossier"
    ),
    "delivery.json names no recipient of this manifest": (
        "delivery.json ne nomme aucun destinataire de ce dossier"
    ),
    "the manifest does not say which recipient each file is for": (
        "le manifeste ne dit pas à quel destinataire va chaque fichier"
    ),
    "no journal key: pass --journal-key or include anchors/journal.vkey": (
        "aucune clé du journal pour vérifier le point de contrôle"
    ),
    "no witness key given and none in the bundle": "aucune clé du témoin (hub) disponible",
    "inclusion proof fails against the checkpoint root": (
        "la preuve d'inclusion ne mène pas à la racine du point de contrôle"
    ),
    "no journal entry records manifest.json's SHA-256": (
        "aucune entrée du journal n'enregistre l'empreinte du manifeste du dossier"
    ),
    "not checked: the checkpoint could not be trusted": _UNTRUSTED,
    "the bundle has no RFC 3161 time-stamp": "le paquet n'a pas d'horodatage RFC 3161",
    "the content does not match the seal": (
        "le contenu ne correspond pas au sceau : il a été modifié après le scellement"
    ),
    "the signature does not verify with the signer's key": (
        "la signature ne se vérifie pas avec la clé du signataire"
    ),
    "the seal does not include it": "le sceau ne le contient pas",
    "the certificate hash does not match the signer's certificate": (
        "l'empreinte du certificat ne correspond pas au certificat du signataire"
    ),
    "issuerSerial does not name the signer's certificate": (
        "issuerSerial ne désigne pas le certificat du signataire"
    ),
    "the seal has no signed attributes": "le sceau n'a pas d'attributs signés",
    "the attribute names no certificate": "l'attribut ne désigne aucun certificat",
    "no signing time and no at_time to check it at": (
        "aucune date de signature à laquelle vérifier la chaîne"
    ),
    "no trust anchor was given": "aucune autorité de confiance fournie",
    "no trusted key signed this note": "aucune clé de confiance n'a signé ce point de contrôle",
    "signature does not verify": "la signature ne se vérifie pas",
    "missing": "absente",
    "the signature over the signed attributes is invalid": (
        "la signature des attributs signés n'est pas valide"
    ),
    "granted, but the response holds no token": "accordé, mais la réponse ne contient pas de jeton",
    "TSTInfo's tsa name is not the signer's subject": (
        "le nom de l'autorité dans le jeton n'est pas celui du signataire"
    ),
    "no extended key usage extension": "pas d'extension d'usage étendu de la clé",
}
# Reasons, by pattern (the variable parts are names, digests and numbers, kept as is).
_REASON_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(
            r"not delivered to this recipient \((.+?)\): for (.+); digest only, "
            r"SHA-256 ([0-9a-f]+), (\d+) bytes, as sealed in manifest\.json"
        ),
        lambda m: (
            f"non remis à ce destinataire ({m[1]}) : destiné à {m[2]} ; seule son empreinte "
            f"figure au paquet (SHA-256 {m[3]}, {m[4]} octets), telle que scellée dans le "
            "manifeste du dossier"
        ),
    ),
    (
        re.compile(r"addressed to (.+), yet not in its bundle"),
        lambda m: f"adressé à {m[1]}, mais absent de son paquet",
    ),
    (
        re.compile(r"(\d+) entries but (\d+) proofs"),
        lambda m: f"{m[1]} entrées mais {m[2]} preuves",
    ),
    (
        re.compile(r"is about (.+), not (.+)"),
        lambda m: f"concerne {m[1]}, et non {m[2]}",
    ),
    (
        re.compile(r"the ASiC manifest names (.+), not (.+)"),
        lambda m: f"le manifeste ASiC cite {m[1]}, et non {m[2]}",
    ),
    (
        re.compile(r"no signature path from '(.+)' \(issuer '(.+)'\) to a given anchor"),
        lambda m: (
            f"aucune chaîne de certification de « {m[1]} » (émis par « {m[2]} ») jusqu'à "
            "une autorité de confiance"
        ),
    ),
    (
        re.compile(r"'(.+)' is valid (\S+) to (\S+), not at (\S+)"),
        lambda m: f"« {m[1]} » est valide du {m[2]} au {m[3]}, pas au {m[4]}",
    ),
    (
        re.compile(r"'(.+)' is not a CA certificate"),
        lambda m: f"« {m[1]} » n'est pas un certificat d'autorité",
    ),
    (
        re.compile(r"the (.+) signed attribute is missing"),
        lambda m: f"l'attribut signé {m[1]} est absent",
    ),
    (
        re.compile(r"the certificate lacks the (.+) extended key usage"),
        lambda m: f"le certificat n'a pas l'usage étendu {m[1]}",
    ),
)

# Warnings (trust.bundle_dossier.NO_SENDER_SEAL and trust.bundle_verify's own).
_WARNING_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(
            r"no sender seal: the sender used the hub directly \(no gateway\); the (.+?) "
            r"attests only who sent it \(its HubEE client\) and the files' SHA-256 digests, "
            r"which the recipient's gateway checked and journaled\. This is not a sealed "
            r"dossier\.",
            re.IGNORECASE,
        ),
        lambda m: (
            "sans sceau de l'expéditeur : l'expéditeur a déposé le dossier directement sur "
            f"le {m[1]} (sans passerelle) ; le {m[1]} atteste seulement qui l'a envoyé (son "
            "client HubEE) et les empreintes SHA-256 des fichiers, que cette passerelle a "
            "vérifiées et inscrites à son journal. Ce n'est pas un dossier scellé."
        ),
    ),
    (
        re.compile(r"The checkpoint is not witnessed \(no witness key\).*"),
        lambda m: (
            "le point de contrôle n'est pas contresigné (pas de clé du témoin) : personne "
            "d'autre ne se porte garant de l'historique de ce journal."
        ),
    ),
    (
        re.compile(r"No --anchor given:.*", re.DOTALL),
        lambda m: (
            "aucune autorité de confiance fournie : les chaînes ont été vérifiées avec les "
            "certificats du paquet lui-même, ce qui prouve l'intégrité, pas l'identité du "
            "signataire."
        ),
    ),
    (
        re.compile(r"No --journal-key given:.*"),
        lambda m: "le point de contrôle a été vérifié avec la clé du journal du paquet lui-même.",
    ),
)


def _by_pattern(
    text: str,
    exact: dict[str, str],
    patterns: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...],
) -> Words:
    if text in exact:
        return Words(exact[text])
    for pattern, french in patterns:
        found = pattern.fullmatch(text)
        if found:
            return Words(french(found))
    return Words(text, french=False)


def section(name: str) -> Words:
    """A verifier section's name in French (an unknown one as is)."""
    return Words(SECTIONS[name]) if name in SECTIONS else Words(name, french=False)


def check_name(name: str) -> Words:
    return _by_pattern(name, _CHECKS, _CHECK_PATTERNS)


def reason(detail: str) -> Words:
    """A check's detail (why it failed, or a notable pass) in French if known."""
    return _by_pattern(detail, _REASONS, _REASON_PATTERNS)


def warning(text: str) -> Words:
    """A verifier warning (or the no-sender-seal statement) in French if known."""
    return _by_pattern(text, {}, _WARNING_PATTERNS)
