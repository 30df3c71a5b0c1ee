"""What Ordophone says on the phone, in French (fr-CA, the default) and English (en-CA).

Each prompt is a key with one text per language; ``{name}`` fields are filled when spoken.
The physician hears their profile's language; the service hears French then English until
someone presses 9.
"""

from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

# What callers say is recognised and transcribed as fr-CA or en-CA.
LANGUAGE_CODES = {"fr": "fr-CA", "en": "en-CA"}
# What Ordophone says: a voice and the locale it speaks (an invalid pair makes <Say> fail on
# Twilio). Polly has a Canadian French voice but no Canadian English one: en-US stands in.
VOICES = {"fr": ("Polly.Chantal", "fr-CA"), "en": ("Polly.Joanna", "en-US")}
ROLE_WORDS = {
    "fr": {"radiologist": "radiologiste", "technologist": "technologue"},
    "en": {"radiologist": "radiologist", "technologist": "technologist"},
}

NOT_TRANSMITTED = {
    "fr": "L'ordonnance n'a pas été transmise.",
    "en": "The order was not transmitted.",
}

TEXTS: dict[str, dict[str, str]] = {
    # Physician leg.
    "welcome": {
        "fr": "Ordophone, transmission verbale des ordonnances d'imagerie.",
        "en": "Ordophone, verbal imaging orders.",
    },
    "callback_welcome": {
        "fr": "Nous vous appelons comme demandé depuis le portail.",
        "en": "We are calling you as you asked in the portal.",
    },
    "caller_not_registered": {
        "fr": "Le numéro d'où vous appelez n'est inscrit pour aucun médecin. "
        "Inscrivez-le dans le portail d'Ordophone, à la page Mes téléphones, "
        "puis rappelez de ce numéro. Au revoir.",
        "en": "The number you are calling from is not registered to any physician. "
        "Register it in the Ordophone portal, on the My phones page, "
        "then call again from this number. Goodbye.",
    },
    "ask_pin": {
        "fr": "Entrez votre NIP, puis le carré.",
        "en": "Enter your PIN, then the pound key.",
    },
    "wrong_pin": {"fr": "NIP incorrect.", "en": "Wrong PIN."},
    "too_many_tries": {
        "fr": "Trop d'essais infructueux. Au revoir.",
        "en": "Too many unsuccessful tries. Goodbye.",
    },
    "phone_locked": {
        "fr": "L'accès téléphonique de ce compte est verrouillé. "
        "Communiquez avec l'administrateur d'Ordophone. Au revoir.",
        "en": "Telephone access to this account is locked. "
        "Please contact the Ordophone administrator. Goodbye.",
    },
    "ask_order": {
        "fr": "Entrez le numéro de l'ordonnance, puis le carré.",
        "en": "Enter the order number, then the pound key.",
    },
    "order_malformed": {
        "fr": "Ce numéro d'ordonnance n'est pas valide. Vérifiez les chiffres.",
        "en": "This order number is not valid. Please check the digits.",
    },
    "order_unknown": {
        "fr": "Aucune ordonnance ne porte ce numéro.",
        "en": "No order has this number.",
    },
    "order_not_yours": {
        "fr": "Cette ordonnance n'a pas été rédigée à votre nom.",
        "en": "This order was not written under your name.",
    },
    "order_transmitted": {
        "fr": "Cette ordonnance a déjà été transmise. Elle ne peut pas l'être une seconde fois.",
        "en": "This order has already been transmitted. It cannot be transmitted again.",
    },
    "order_in_transmission": {
        "fr": "Cette ordonnance est déjà en cours de transmission.",
        "en": "This order is already being transmitted.",
    },
    "order_cancelled": {
        "fr": "Cette ordonnance a été annulée.",
        "en": "This order has been cancelled.",
    },
    "order_not_ready": {
        "fr": "Le patient n'a pas encore choisi de service d'imagerie pour cette ordonnance.",
        "en": "The patient has not chosen an imaging service for this order yet.",
    },
    "summary": {
        "fr": "Ordonnance {number} : {exam}, pour le patient {initials}, "
        "au service choisi par le patient : {service}. "
        "Appuyez sur 1 pour appeler le service maintenant, sur 2 pour annuler.",
        "en": "Order {number}: {exam}, for patient {initials}, "
        "to the service the patient chose: {service}. "
        "Press 1 to call the service now, 2 to cancel.",
    },
    "cancelled_by_physician": {
        "fr": "Appel annulé. L'ordonnance n'a pas été transmise. Au revoir.",
        "en": "Call cancelled. The order was not transmitted. Goodbye.",
    },
    "calling": {
        "fr": "Nous appelons {service}. Votre conversation avec le professionnel sera enregistrée.",
        "en": "We are calling {service}. Your conversation with the professional will be recorded.",
    },
    "wait_ended": {
        "fr": "L'ordonnance n'a pas été transmise. Vous pouvez raccrocher et rappeler.",
        "en": "The order was not transmitted. You may hang up and call again.",
    },
    "wait_ringing": {
        "fr": "Le service sonne. Restez en ligne.",
        "en": "The service is ringing. Please stay on the line.",
    },
    "wait_answered": {
        "fr": "Le service a répondu. La personne indique son rôle. Restez en ligne.",
        "en": "The service answered. The person is stating their role. Please stay on the line.",
    },
    "wait_transfer": {
        "fr": "Une réceptionniste a répondu et transfère l'appel à un professionnel. "
        "Restez en ligne.",
        "en": "A receptionist answered and is transferring the call to a professional. "
        "Please stay on the line.",
    },
    "wait_confirming": {
        "fr": "Un {role} confirme son identité. Restez en ligne.",
        "en": "A {role} is confirming their identity. Please stay on the line.",
    },
    "reason_busy": {"fr": "Le service est occupé.", "en": "The service is busy."},
    "reason_no_answer": {
        "fr": "Le service n'a pas répondu.",
        "en": "The service did not answer.",
    },
    "reason_failed": {
        "fr": "L'appel au service n'a pas pu être établi.",
        "en": "The call to the service could not be placed.",
    },
    "reason_refused_by_staff": {
        "fr": "Seul du personnel administratif a répondu, et il ne peut pas recevoir "
        "d'ordonnance verbale. Aucun radiologiste ni technologue n'a pris l'appel.",
        "en": "Only administrative staff answered, and they cannot receive a verbal order. "
        "No radiologist or technologist took the call.",
    },
    "reason_no_qualified_professional": {
        "fr": "Aucun radiologiste ni technologue n'a confirmé son identité.",
        "en": "No radiologist or technologist confirmed their identity.",
    },
    "reason_abandoned": {"fr": "L'appel a été interrompu.", "en": "The call was interrupted."},
    "retry_or_end": {
        "fr": "Appuyez sur 1 pour réessayer, sur 2 pour terminer. Vous pouvez aussi "
        "transmettre l'ordonnance par un autre moyen.",
        "en": "Press 1 to try again, 2 to end. You may also send the order another way.",
    },
    "read_back": {
        "fr": "La conversation est terminée. Si le professionnel vous a relu l'ordonnance et "
        "qu'elle est exacte, appuyez sur 1. Si la relecture était erronée, incomplète ou "
        "interrompue, appuyez sur 2 : l'ordonnance ne sera pas transmise. Pour confirmer "
        "plus tard, appuyez sur 3.",
        "en": "The conversation has ended. If the professional read the order back and it is "
        "correct, press 1. If the read-back was wrong, incomplete or cut off, press 2: the "
        "order will not be transmitted. To confirm later, press 3.",
    },
    "transmitted": {
        "fr": "Merci. L'ordonnance {number} est transmise et la relecture est confirmée. "
        "Le registre écrit suivra dans le portail. Au revoir.",
        "en": "Thank you. Order {number} is transmitted and the read-back is confirmed. "
        "The written record will follow in the portal. Goodbye.",
    },
    "awaiting_confirmation": {
        "fr": "L'ordonnance {number} a été dictée, mais la relecture n'est pas confirmée. "
        "Confirmez-la dans le portail, ou rappelez Ordophone pour la confirmer ou pour "
        "transmettre l'ordonnance de nouveau. Au revoir.",
        "en": "Order {number} was dictated, but the read-back is not confirmed. Please "
        "confirm it in the portal, or call Ordophone again to confirm it or to transmit the "
        "order again. Goodbye.",
    },
    "reason_read_back_refused": {
        "fr": "Vous avez indiqué que la relecture était erronée, incomplète ou interrompue. "
        "Un registre indiquant de ne pas exécuter cette ordonnance est émis pour le service.",
        "en": "You said the read-back was wrong, incomplete or cut off. A record telling the "
        "service not to act on this order is being issued.",
    },
    "unconfirmed": {
        "fr": "La relecture de l'ordonnance {number} n'a pas été confirmée. Pour confirmer "
        "la relecture faite lors de l'appel précédent, appuyez sur 1. Pour transmettre "
        "l'ordonnance de nouveau, appuyez sur 2 : la transmission précédente sera annulée.",
        "en": "The read-back of order {number} was not confirmed. To confirm the read-back "
        "given in the previous call, press 1. To transmit the order again, press 2: the "
        "previous transmission will be voided.",
    },
    "previous_voided": {
        "fr": "La transmission précédente est annulée. Le service en sera avisé par son "
        "registre écrit.",
        "en": "The previous transmission is voided. The service will be told by its written "
        "record.",
    },
    "order_unconfirmed": {
        "fr": "La relecture de cette ordonnance attend votre confirmation dans le portail.",
        "en": "The read-back of this order awaits your confirmation in the portal.",
    },
    "urgent": {"fr": "Ordonnance URGENTE.", "en": "URGENT order."},
    "goodbye": {"fr": "Au revoir.", "en": "Goodbye."},
    "no_input": {"fr": "Je n'ai rien entendu.", "en": "I did not hear anything."},
    "invalid_choice": {"fr": "Ce choix n'est pas valide.", "en": "This choice is not valid."},
    # Professional leg.
    "role_question": {
        "fr": "Ici Ordophone, au nom de {doctor}, pour une ordonnance verbale d'imagerie "
        "médicale. Cet appel est enregistré. Si vous êtes radiologiste, appuyez sur 1. "
        "Si vous êtes technologue, appuyez sur 2. Tout autre membre du personnel, "
        "appuyez sur 3.",
        "en": "This is Ordophone, calling on behalf of {doctor} with a verbal imaging order. "
        "This call is recorded. Press 1 if you are a radiologist, 2 if you are a "
        "technologist, 3 for any other staff.",
    },
    "for_english": {"fr": "For English, press 9.", "en": "For English, press 9."},
    "transfer": {
        "fr": "Seul un radiologiste ou un technologue peut recevoir une ordonnance verbale. "
        "Veuillez transférer cet appel à l'un d'eux maintenant. Une fois en ligne, il "
        "appuie sur 1 s'il est radiologiste, sur 2 s'il est technologue.",
        "en": "Only a radiologist or a technologist may receive a verbal order. Please "
        "transfer this call to one of them now. When they are on the line, they press 1 "
        "if they are a radiologist, 2 if they are a technologist.",
    },
    "ask_permit": {
        "fr": "Entrez votre numéro de permis d'exercice, puis le carré.",
        "en": "Enter your permit number, then the pound key.",
    },
    "invalid_permit": {
        "fr": "Ce numéro de permis n'est pas valide.",
        "en": "This permit number is not valid.",
    },
    "ask_name": {
        "fr": "Dites votre prénom et votre nom.",
        "en": "Say your first and last name.",
    },
    "recording_notice": {
        "fr": "La conversation qui suit est enregistrée.",
        "en": "The conversation that follows is recorded.",
    },
    "connected": {
        "fr": "Vous êtes maintenant en communication avec {doctor}. "
        "Veuillez relire l'ordonnance à la fin.",
        "en": "You are now connected with {doctor}. Please read the order back at the end.",
    },
    "professional_thanks": {"fr": "Merci. Au revoir.", "en": "Thank you. Goodbye."},
    "screening_over": {
        "fr": "Nous n'avons pas pu joindre de radiologiste ni de technologue. Au revoir.",
        "en": "We could not reach a radiologist or a technologist. Goodbye.",
    },
    "call_over": {
        "fr": "Le médecin n'est plus en ligne. Au revoir.",
        "en": "The physician is no longer on the line. Goodbye.",
    },
    "technical_error": {
        "fr": "Désolé, une erreur technique empêche de poursuivre cet appel.",
        "en": "Sorry, a technical error prevents this call from continuing.",
    },
    "database_error": {
        "fr": "Désolé, une erreur technique interrompt cet appel. L'ordonnance n'a pas été "
        "transmise : elle devra être redonnée dans un nouvel appel, dans quelques minutes.",
        "en": "Sorry, a technical error interrupts this call. The order was not transmitted: "
        "it will have to be given again in a new call, in a few minutes.",
    },
    "one_moment": {"fr": "Un instant, s'il vous plaît.", "en": "One moment, please."},
}


def text(key: str, language: str, **values: str) -> str:
    """The prompt ``key`` in ``language`` with its fields filled."""
    return TEXTS[key][language].format(**values)


def say(target: VoiceResponse | Gather, words: str, language: str) -> None:
    """Add ``words`` spoken in ``language`` to a response or a gather."""
    voice, locale = VOICES[language]
    target.say(words, voice=voice, language=locale)


def spelled_digits(number: str) -> str:
    """Digits spoken one by one ("1 2 3"), as a caller keys them."""
    return " ".join(number)


def initials(name: str) -> str:
    """A patient's initials ("P. F. E."), all of their name the phone ever says."""
    return " ".join(f"{part[0].upper()}." for part in name.split() if part)
