{#- Generic test on a model's registry rows (ml_<name>__train): one row when no version is
    champion. Nothing is scored then; with severity warn the build goes on and says why. -#}
{% test has_champion(model) %}
select
    'no champion: nothing is scored until a version meets the success criterion and beats the '
    || 'rule; see status and reason in ml_model_registry' as problem
where not exists (select 1 from {{ model }} where status = 'champion')
{% endtest %}
